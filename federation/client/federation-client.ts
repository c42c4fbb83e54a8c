/**
 * Requests to other homeservers (server-server-api, "API standards", "TLS",
 * "Request Authentication"): the destination's server name is resolved
 * (resolve.ts), each destination has its own undici Pool so connections are
 * reused, TLS is checked against the resolved name, and requests are signed
 * with X-Matrix for the destination's own server name (not the delegated one).
 * Every connection goes through the outbound address guard.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { Agent, Pool } from 'undici';
import { AddressDeniedError, guardedConnector, type HostLookup } from '../../server/net/connector';
import { IpRangePolicy } from '../../server/net/ip-ranges';
import { readLimited, ResponseTooLargeError } from '../../server/net/read-limited';
import type { Config } from '../../server/config/schema';
import { formatServerName } from '../../spec/server-name';
import { parseSigningKey } from '../../spec/signing-key';
import { signingKeyPair, type SigningKeyPair } from '../../spec/signing';
import { xMatrixAuthorization } from '../../spec/x-matrix';
import { FederationError, type FederationErrorDetails, type FederationErrorKind } from './errors';
import { InvalidServerNameError, ServerResolver, tlsName, type ResolvedServer } from './resolve';
import type { SrvLookup } from './srv';
import { wellKnownFetcher, type WellKnownFetch } from './well-known';

export type QueryValue = string | number | boolean;

export interface FederationRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path from `/_matrix/`, its parameters already percent-encoded. */
  path: string;
  /** Query parameters; an array repeats the parameter. */
  query?: Record<string, QueryValue | readonly QueryValue[] | undefined>;
  /** The JSON body; PUT and POST send `{}` when there is none, as the spec asks. */
  body?: unknown;
  /** Sign with X-Matrix (default true); /_matrix/key/v2/server needs no signature. */
  signed?: boolean;
  /** Default: federation.request_timeout_ms. */
  timeoutMs?: number;
  /** Default: DEFAULT_MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

export type RequestOptions = Omit<FederationRequest, 'method' | 'path' | 'body'>;

/** Large enough for the state of a big room in a send_join answer. */
export const DEFAULT_MAX_RESPONSE_BYTES = 100 * 1024 * 1024;
/** Connections kept open to one destination at most. */
const CONNECTIONS_PER_DESTINATION = 8;

export interface FederationClientOptions {
  config: Config;
  log: Logger;
  /** Test seams: DNS, the well-known fetch (or just its port) and the default federation port. */
  lookup?: HostLookup;
  resolveSrv?: SrvLookup;
  fetchWellKnown?: WellKnownFetch;
  wellKnownPort?: number;
  defaultPort?: number;
  now?: () => number;
}

interface DestinationPool {
  key: string;
  pool: Pool;
}

export class FederationClient {
  readonly resolver: ServerResolver;
  private readonly serverName: string;
  private readonly signingKey: SigningKeyPair;
  private readonly policy: IpRangePolicy;
  private readonly verifyTls: boolean;
  private readonly timeoutMs: number;
  private readonly lookup?: HostLookup;
  private readonly log: Logger;
  private readonly wellKnownAgent: Agent;
  private readonly pools = new Map<string, DestinationPool>();
  private closed = false;

  constructor(options: FederationClientOptions) {
    const { config } = options;
    this.serverName = config.server_name;
    this.signingKey = signingKeyPair(parseSigningKey(config.signing_key));
    this.policy = IpRangePolicy.fromConfig(config);
    this.verifyTls = config.federation.verify_tls;
    this.timeoutMs = config.federation.request_timeout_ms;
    this.lookup = options.lookup;
    this.log = options.log;
    this.wellKnownAgent = new Agent({
      connect: guardedConnector({ policy: this.policy, timeout: this.timeoutMs, rejectUnauthorized: this.verifyTls, lookup: this.lookup }),
    });
    this.resolver = new ServerResolver({
      fetchWellKnown:
        options.fetchWellKnown ?? wellKnownFetcher({ dispatcher: this.wellKnownAgent, timeoutMs: this.timeoutMs, port: options.wellKnownPort }),
      resolveSrv: options.resolveSrv,
      defaultPort: options.defaultPort,
      now: options.now,
      log: options.log,
    });
  }

  get<T = unknown>(destination: string, path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>(destination, { ...options, method: 'GET', path });
  }

  put<T = unknown>(destination: string, path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>(destination, { ...options, method: 'PUT', path, body });
  }

  post<T = unknown>(destination: string, path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>(destination, { ...options, method: 'POST', path, body });
  }

  /** Sends one request and parses its JSON answer; every failure is a FederationError. */
  async request<T = unknown>(destination: string, request: FederationRequest): Promise<T> {
    const fail: Fail = (kind, message, details = {}) =>
      new FederationError(destination, kind, `${request.method} ${destination}${request.path}: ${message}`, details);
    if (this.closed) throw fail('closed', 'the federation client is closed');
    let resolved: ResolvedServer;
    try {
      resolved = await this.resolver.resolve(destination);
    } catch (err) {
      if (err instanceof InvalidServerNameError) throw fail('invalid_destination', err.message, { cause: err });
      throw fail('network', `cannot resolve the server name: ${(err as Error).message}`, { cause: err });
    }
    if (this.closed) throw fail('closed', 'the federation client is closed');
    const { status, text } = await this.send(destination, resolved, request, fail);
    return answer<T>(status, text, fail);
  }

  /** The request, signed, on the destination's pool, within its timeout: the status and the body text. */
  private async send(destination: string, resolved: ResolvedServer, request: FederationRequest, fail: Fail): Promise<{ status: number; text: string }> {
    const uri = request.path + queryString(request.query);
    const headers: Record<string, string> = { host: resolved.host, accept: 'application/json' };
    let body: string | undefined;
    let content: unknown;
    if (request.body !== undefined || request.method === 'PUT' || request.method === 'POST') {
      body = JSON.stringify(request.body ?? {});
      // What is signed is the JSON the destination will parse, exactly.
      content = JSON.parse(body);
      headers['content-type'] = 'application/json';
    }
    if (request.signed ?? true) {
      try {
        headers.authorization = xMatrixAuthorization({ method: request.method, uri, origin: this.serverName, destination, content }, this.signingKey);
      } catch (err) {
        throw fail('invalid_request', `cannot sign the request: ${(err as Error).message}`, { cause: err });
      }
    }

    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCallerAbort = () => controller.abort();
    if (request.signal?.aborted) controller.abort();
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const started = Date.now();
    try {
      const res = await untilAborted(this.poolFor(destination, resolved).request({ method: request.method, path: uri, headers, body, signal: controller.signal }), controller.signal);
      const text = (await readLimited(res.body, res.headers, request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES)).toString('utf8');
      this.log.debug({ destination, method: request.method, path: request.path, status: res.statusCode, ms: Date.now() - started }, 'federation request');
      return { status: res.statusCode, text };
    } catch (err) {
      if (timedOut) throw fail('timeout', `no complete answer within ${timeoutMs} ms`, { cause: err });
      if (err instanceof ResponseTooLargeError) throw fail('invalid_response', err.message, { cause: err });
      if (err instanceof AddressDeniedError) throw fail('denied', err.message, { cause: err });
      if (this.closed) throw fail('closed', 'the federation client is closed', { cause: err });
      throw fail('network', (err as Error).message || String(err), { cause: err });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** Stops: requests in flight fail with kind `closed`, and every connection closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pools = [...this.pools.values()].map(({ pool }) => pool);
    this.pools.clear();
    await Promise.allSettled([...pools.map((pool) => pool.destroy()), this.wellKnownAgent.destroy()]);
  }

  /** The destination's pool for where it resolves to now; a pool for an old resolution is closed once its requests finish. */
  private poolFor(destination: string, resolved: ResolvedServer): Pool {
    const certificateName = tlsName(resolved);
    const key = JSON.stringify([certificateName, resolved.targets]);
    const current = this.pools.get(destination);
    if (current?.key === key) return current.pool;
    if (current) void current.pool.close().catch(() => {});
    const first = resolved.targets[0];
    const pool = new Pool(`https://${formatServerName(first.hostname, first.port)}`, {
      connections: CONNECTIONS_PER_DESTINATION,
      connect: guardedConnector({
        policy: this.policy,
        timeout: this.timeoutMs,
        rejectUnauthorized: this.verifyTls,
        lookup: this.lookup,
        // A certificate for an IP address is checked against the address connected to, and no SNI is sent.
        servername: isIP(certificateName) ? null : certificateName,
        targets: resolved.targets,
      }),
    });
    this.pools.set(destination, { key, pool });
    return pool;
  }
}

/**
 * `pending`, or a rejection as soon as `signal` aborts: undici does not end a
 * request still waiting for its connection (a server that accepts and never
 * answers the TLS handshake) when its signal aborts. A response that comes
 * after all the same is thrown away.
 */
function untilAborted<T extends { body: { destroy(): unknown } }>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) pending.then((res) => res.body.destroy(), () => {});
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  return Promise.race([pending, aborted]).catch((err) => {
    pending.then((res) => res.body.destroy(), () => {});
    throw err;
  });
}

type Fail = (kind: FederationErrorKind, message: string, details?: FederationErrorDetails) => FederationError;

/** The parsed JSON of a 2xx answer; else the FederationError it means. */
function answer<T>(status: number, text: string, fail: Fail): T {
  let json: unknown;
  let isJson = true;
  try {
    json = JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (status >= 200 && status < 300) {
    if (!isJson) throw fail('invalid_response', `HTTP ${status} with a body that is not JSON`);
    return json as T;
  }
  const error = isJson && typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const errcode = typeof error.errcode === 'string' ? error.errcode : undefined;
  const remoteError = typeof error.error === 'string' ? error.error : undefined;
  throw fail('http', `HTTP ${status}${errcode ? ` ${errcode}` : ''}${remoteError ? `: ${remoteError}` : ''}`, {
    status,
    errcode,
    remoteError,
    body: isJson ? json : undefined,
  });
}

function queryString(query: FederationRequest['query']): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

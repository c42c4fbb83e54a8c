/**
 * Resolving server names (server-server-api, "Resolving server names"): from
 * a server name to where to connect, the Host header, and the name the TLS
 * certificate must be valid for. Well-known answers and SRV records are
 * cached; A and AAAA lookups happen when connecting (server/net/connector.ts),
 * where the IP range policy judges the addresses.
 */
import { Resolver } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { ConnectTarget } from '../../server/net/connector';
import { formatServerName, parseServerName, type ServerName } from '../../spec/server-name';
import { orderSrvRecords, type SrvLookup } from './srv';
import { cacheLifetimeFromHeaders, delegatedServerName, type WellKnownFetch } from './well-known';

export interface ResolvedServer {
  /**
   * The Host header. Its hostname (brackets off) is also the name the TLS
   * certificate must be valid for, in every step of the spec: see tlsName.
   */
  host: string;
  /** Where to connect, in the order to try: DNS names (looked up for AAAA and A records) or IP addresses, with ports. */
  targets: ConnectTarget[];
}

/** The name a resolved server's certificate must be valid for: a DNS name, sent as SNI, or an IP address (no SNI). */
export function tlsName(resolved: ResolvedServer): string {
  return parseServerName(resolved.host)!.hostname;
}

export class InvalidServerNameError extends Error {
  override readonly name = 'InvalidServerNameError';
}

export const DEFAULT_FEDERATION_PORT = 8448;

/** Well-known caching: the spec recommends 24 hours without cache headers, 48 at most, and errors an hour at most. */
export const WELL_KNOWN_CACHE = {
  defaultMs: 24 * 60 * 60 * 1000,
  minMs: 5 * 60 * 1000,
  maxMs: 48 * 60 * 60 * 1000,
  /** An error without cache headers is cached this long, doubled for each further failure in a row... */
  errorInitialMs: 5 * 60 * 1000,
  /** ...up to this. */
  errorMaxMs: 60 * 60 * 1000,
};
/** SRV answers (node's resolver gives no TTL): found or not, and when the lookup itself failed. */
const SRV_CACHE_MS = 10 * 60 * 1000;
const SRV_FAILURE_CACHE_MS = 60 * 1000;
/** Names whose answers are cached at most; expired ones go first, then the oldest. */
const MAX_CACHED = 10_000;

export interface ServerResolverOptions {
  fetchWellKnown: WellKnownFetch;
  /** Default: node's DNS resolver (the system's servers). */
  resolveSrv?: SrvLookup;
  /** The port when neither the name, the delegation nor SRV gives one: 8448 but in tests. */
  defaultPort?: number;
  now?: () => number;
  random?: () => number;
  log?: Logger;
}

interface WellKnownEntry {
  /** The delegated server name; null when there is none (error, invalid answer). */
  delegated: ServerName | null;
  expires: number;
  /** Failed fetches in a row, for the error backoff. */
  failures: number;
  /** When the delegation was last fetched successfully (kept through transient failures). */
  fetchedAt: number;
}

interface SrvEntry {
  targets: ConnectTarget[] | null;
  expires: number;
}

export class ServerResolver {
  private readonly fetchWellKnown: WellKnownFetch;
  private readonly resolveSrv: SrvLookup;
  private readonly defaultPort: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log?: Logger;
  private readonly wellKnownCache = new Map<string, WellKnownEntry>();
  private readonly wellKnownInFlight = new Map<string, Promise<WellKnownEntry>>();
  private readonly srvCache = new Map<string, SrvEntry>();

  constructor(options: ServerResolverOptions) {
    this.fetchWellKnown = options.fetchWellKnown;
    if (options.resolveSrv) {
      this.resolveSrv = options.resolveSrv;
    } else {
      const resolver = new Resolver();
      this.resolveSrv = (name) => resolver.resolveSrv(name);
    }
    this.defaultPort = options.defaultPort ?? DEFAULT_FEDERATION_PORT;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = options.log;
  }

  /** Follows the spec's steps for `serverName`; throws InvalidServerNameError when it does not fit the grammar. */
  async resolve(serverName: string): Promise<ResolvedServer> {
    const name = parseServerName(serverName);
    if (!name) throw new InvalidServerNameError(`"${serverName}" is not a valid server name`);
    // Steps 1 and 2: an IP literal, or an explicit port, is used as it is.
    if (name.ip !== 0 || name.port !== undefined) return { host: serverName, targets: [{ hostname: name.hostname, port: name.port ?? this.defaultPort }] };
    // Step 3: delegation by /.well-known/matrix/server.
    const delegated = await this.delegation(name.hostname);
    if (delegated) {
      // 3.1 and 3.2: the delegated IP literal or explicit port.
      if (delegated.ip !== 0 || delegated.port !== undefined) {
        return {
          host: formatServerName(delegated.hostname, delegated.port),
          targets: [{ hostname: delegated.hostname, port: delegated.port ?? this.defaultPort }],
        };
      }
      // 3.3 to 3.5: SRV records of the delegated hostname, else its addresses on the default port.
      return { host: delegated.hostname, targets: await this.srvOrDefault(delegated.hostname) };
    }
    // Steps 4 to 6: SRV records of the hostname itself, else its addresses on the default port.
    return { host: name.hostname, targets: await this.srvOrDefault(name.hostname) };
  }

  /** The delegated server name of `hostname`'s well-known, from the cache while it lasts. */
  private async delegation(hostname: string): Promise<ServerName | null> {
    const cached = this.wellKnownCache.get(hostname);
    if (cached && cached.expires > this.now()) return cached.delegated;
    let pending = this.wellKnownInFlight.get(hostname);
    if (!pending) {
      pending = this.fetchDelegation(hostname, cached).finally(() => this.wellKnownInFlight.delete(hostname));
      this.wellKnownInFlight.set(hostname, pending);
    }
    return (await pending).delegated;
  }

  private async fetchDelegation(hostname: string, previous: WellKnownEntry | undefined): Promise<WellKnownEntry> {
    const now = this.now();
    let entry: WellKnownEntry;
    try {
      const response = await this.fetchWellKnown(hostname);
      const delegated = delegatedServerName(response) ?? null;
      const lifetime = cacheLifetimeFromHeaders(response.headers, now);
      if (delegated) {
        entry = { delegated, expires: now + clamp(lifetime ?? WELL_KNOWN_CACHE.defaultMs, WELL_KNOWN_CACHE.minMs, WELL_KNOWN_CACHE.maxMs), failures: 0, fetchedAt: now };
      } else {
        // A server error is taken as transient, like a network error; any other answer as "no delegation".
        entry = this.failed(previous, now, lifetime, response.status >= 500);
        this.log?.debug({ hostname, status: response.status }, 'no valid well-known delegation');
      }
    } catch (err) {
      entry = this.failed(previous, now, undefined, true);
      this.log?.debug({ hostname, err }, 'well-known fetch failed');
    }
    this.remember(this.wellKnownCache, hostname, entry);
    return entry;
  }

  /**
   * The cache entry after a failed fetch: kept for the error backoff (or the
   * headers' lifetime, at most an hour). A transient failure keeps a delegation
   * fetched within the maximum cache time, so that a well-known server's
   * hiccup does not cut a delegated server off.
   */
  private failed(previous: WellKnownEntry | undefined, now: number, lifetime: number | undefined, transient: boolean): WellKnownEntry {
    const failures = (previous?.failures ?? 0) + 1;
    const backoff = WELL_KNOWN_CACHE.errorInitialMs * 2 ** Math.min(failures - 1, 20);
    const expires = now + clamp(lifetime ?? backoff, WELL_KNOWN_CACHE.minMs, WELL_KNOWN_CACHE.errorMaxMs);
    const keep = transient && previous?.delegated && now - previous.fetchedAt < WELL_KNOWN_CACHE.maxMs;
    return keep ? { ...previous!, expires, failures } : { delegated: null, expires, failures, fetchedAt: previous?.fetchedAt ?? 0 };
  }

  /** The targets of the SRV records of `_matrix-fed._tcp.{hostname}`, else of the deprecated `_matrix._tcp.{hostname}`, else the hostname on the default port. */
  private async srvOrDefault(hostname: string): Promise<ConnectTarget[]> {
    for (const service of ['_matrix-fed._tcp', '_matrix._tcp']) {
      const targets = await this.srv(`${service}.${hostname}`);
      if (targets) return targets;
    }
    return [{ hostname, port: this.defaultPort }];
  }

  private async srv(name: string): Promise<ConnectTarget[] | null> {
    const now = this.now();
    const cached = this.srvCache.get(name);
    if (cached && cached.expires > now) return cached.targets;
    let entry: SrvEntry;
    try {
      const targets = orderSrvRecords(await this.resolveSrv(name), this.random);
      entry = { targets: targets.length > 0 ? targets : null, expires: now + SRV_CACHE_MS };
    } catch (err) {
      const code = (err as { code?: string }).code;
      const none = code === 'ENODATA' || code === 'ENOTFOUND';
      if (!none) this.log?.debug({ name, err }, 'SRV lookup failed');
      entry = { targets: null, expires: now + (none ? SRV_CACHE_MS : SRV_FAILURE_CACHE_MS) };
    }
    this.remember(this.srvCache, name, entry);
    return entry.targets;
  }

  private remember<T extends { expires: number }>(cache: Map<string, T>, key: string, entry: T): void {
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size <= MAX_CACHED) return;
    const now = this.now();
    for (const [k, e] of cache) if (e.expires <= now) cache.delete(k);
    for (const k of cache.keys()) {
      if (cache.size <= MAX_CACHED) break;
      cache.delete(k);
    }
  }
}

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

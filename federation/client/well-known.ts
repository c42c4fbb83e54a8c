/**
 * /.well-known/matrix/server (server-server-api, "Resolving server names",
 * step 3): fetching it, reading the delegated server name out of it, and how
 * long the answer may be cached.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { readLimited } from '../../server/net/read-limited';
import { parseServerName, type ServerName } from '../../spec/server-name';

export interface WellKnownResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GETs https://{hostname}/.well-known/matrix/server, following redirects; rejects on a network error. */
export type WellKnownFetch = (hostname: string) => Promise<WellKnownResponse>;

/** Redirects followed at most; a loop ends sooner, at the first URL seen twice. */
const MAX_REDIRECTS = 5;
/** The document is one small JSON object. */
const MAX_BODY_BYTES = 64 * 1024;

export interface WellKnownFetcherOptions {
  /** Connects through the outbound address guard (server/net/connector.ts). */
  dispatcher: Dispatcher;
  timeoutMs: number;
  /** 443 but in tests. */
  port?: number;
}

export function wellKnownFetcher({ dispatcher, timeoutMs, port = 443 }: WellKnownFetcherOptions): WellKnownFetch {
  return async (hostname) => {
    let url = new URL(`https://${hostname}${port === 443 ? '' : `:${port}`}/.well-known/matrix/server`);
    const seen = new Set<string>();
    const signal = AbortSignal.timeout(timeoutMs);
    for (;;) {
      seen.add(url.href);
      const res = await request(url, { dispatcher, signal, method: 'GET', headers: { accept: 'application/json' } });
      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
        await res.body.dump();
        const next = new URL(location, url);
        if (next.protocol !== 'https:') throw new Error(`well-known of ${hostname} redirects to a URL that is not https: ${next.href}`);
        if (seen.has(next.href) || seen.size > MAX_REDIRECTS) throw new Error(`well-known of ${hostname}: too many redirects or a loop`);
        url = next;
        continue;
      }
      const body = await readLimited(res.body, res.headers, MAX_BODY_BYTES);
      return { status: res.statusCode, headers: res.headers, body: body.toString('utf8') };
    }
  };
}

/**
 * The delegated server name of a well-known response; undefined when the
 * response is not a 200 with a JSON object whose `m.server` is a valid server
 * name. The body is JSON whatever its Content-Type says.
 */
export function delegatedServerName(response: WellKnownResponse): ServerName | undefined {
  if (response.status !== 200) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const server = (json as Record<string, unknown>)['m.server'];
  return typeof server === 'string' ? parseServerName(server) : undefined;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/**
 * How long the response's headers let it be cached, in milliseconds: from
 * Cache-Control (no-store or no-cache: 0; else max-age), else from Expires
 * (against the response's Date when it has one); undefined when they say
 * nothing.
 */
export function cacheLifetimeFromHeaders(headers: IncomingHttpHeaders, now: number): number | undefined {
  const directives = (header(headers, 'cache-control') ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== '');
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  for (const directive of directives) {
    const maxAge = /^max-age\s*=\s*"?(\d+)"?$/.exec(directive);
    if (maxAge) return Number(maxAge[1]) * 1000;
  }
  const expires = header(headers, 'expires');
  if (expires === undefined) return undefined;
  const at = Date.parse(expires);
  // An Expires that does not parse (often "0" or "-1") means already expired.
  if (Number.isNaN(at)) return 0;
  const date = Date.parse(header(headers, 'date') ?? '');
  return Math.max(0, at - (Number.isNaN(date) ? now : date));
}

/**
 * Test servers that serve federation/keys: a Weft test server (its config and
 * database) plus a second listener with the key routes, whose server name
 * `127.0.0.1:PORT` is the address it answers on, so that key fetches over
 * plain HTTP reach it. Also a KeyFetch over plain HTTP and a settable clock.
 */
import http from 'node:http';
import { createServer as createNetServer } from 'node:net';
import pino from 'pino';
import { createServerKeys, type KeyFetch, type ServerKeys } from '../../federation/keys';
import type { Config } from '../../server/config/schema';
import { createApp } from '../../server/http/app';
import type { Route } from '../../server/http/route';
import { MatrixError } from '../../spec/errors';
import type { KeyQueryBody } from '../../spec/schemas/server-keys';
import { signingKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import { xMatrixAuthorization } from '../../spec/x-matrix';
import { startServer, type DeepPartial, type TestServer } from './server';

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A clock tests move by hand. */
export class Clock {
  constructor(public ms = Date.now()) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** A KeyFetch that also counts the requests it makes, by server. */
export interface CountingKeyFetch extends KeyFetch {
  calls: string[];
}

async function json(res: Response): Promise<unknown> {
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

/**
 * Key requests over plain HTTP to `http://{serverName}`: the server name of a
 * test key server is its address. Notary queries are signed by `origin`.
 */
export function httpKeyFetch(origin: Config): CountingKeyFetch {
  const key = signingKeyPair(parseSigningKey(origin.signing_key));
  const calls: string[] = [];
  return {
    calls,
    async serverKeys(serverName) {
      calls.push(`server ${serverName}`);
      return json(await fetch(`http://${serverName}/_matrix/key/v2/server`, { signal: AbortSignal.timeout(5000) }));
    },
    async notaryQuery(notary: string, body: KeyQueryBody) {
      calls.push(`notary ${notary}`);
      const uri = '/_matrix/key/v2/query';
      const authorization = xMatrixAuthorization({ method: 'POST', uri, origin: origin.server_name, destination: notary, content: body }, key);
      const res = await fetch(`http://${notary}${uri}`, {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      return json(res);
    },
  };
}

/** A route with auth 'server', answering with the authenticated origin and what it was sent. */
const echoRoutes: Route<any>[] = (['GET', 'PUT', 'POST'] as const).map((method) => ({
  method,
  path: '/_matrix/federation/v1/test-echo/:what',
  auth: 'server',
  handler: (req) => ({ origin: req.origin, body: req.body ?? null }),
}));

export interface KeyServer {
  serverName: string;
  baseUrl: string;
  weft: TestServer;
  config: Config;
  keys: ServerKeys;
  fetch: CountingKeyFetch;
  /** Stops serving the keys but keeps the Weft server (and its database). */
  goDown(): Promise<void>;
  stop(): Promise<void>;
}

export interface KeyServerOptions {
  overrides?: DeepPartial<Config>;
  clock?: Clock;
  /** Outbound key requests; plain HTTP from this server by default. */
  fetch?: (config: Config) => CountingKeyFetch;
}

/** Starts a Weft test server and, on the port its server name names, the key routes and a test route with server auth. */
export async function startKeyServer(options: KeyServerOptions = {}): Promise<KeyServer> {
  const port = await freePort();
  const serverName = `127.0.0.1:${port}`;
  const weft = await startServer({ ...options.overrides, server_name: serverName });
  const config = weft.config;
  const keyFetch = (options.fetch ?? httpKeyFetch)(config);
  const keys = createServerKeys({ config, stores: weft.hs.services.stores, fetch: keyFetch, now: options.clock?.now });
  const app = createApp({
    config,
    log: pino({ level: 'silent' }),
    routes: [...keys.routes, ...echoRoutes],
    authenticate: async () => {
      throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'No users here');
    },
    authenticateServer: keys.authenticateServer,
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let up = true;
  const goDown = async () => {
    if (!up) return;
    up = false;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  return {
    serverName,
    baseUrl: `http://${serverName}`,
    weft,
    config,
    keys,
    fetch: keyFetch,
    goDown,
    async stop() {
      await goDown();
      await weft.stop();
    },
  };
}

/** A plain HTTP server on a free port that answers every request with what `respond` returns (for forged key documents). */
export async function startFakeServer(respond: (req: http.IncomingMessage, body: string) => unknown): Promise<{ serverName: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(respond(req, body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    serverName: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The composition root: opens the database, builds the services and the HTTP
 * app, listens on the configured listeners, and shuts down gracefully.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createFederation, type Federation } from '../federation';
import { migrate, openDb, type Db } from '../storage/db';
import { createStores } from '../storage';
import type { ApiResource, Config, ListenerConfig } from './config/schema';
import { createApp } from './http/app';
import { InFlight } from './http/in-flight';
import type { Route } from './http/route';
import { createLogger, type Logger } from './log';
import { clientRoutes } from './routes';
import { createServices, type Services } from './services';
import { serveSyncWebSocket } from './sync/websocket';

/** Connections the kernel may queue before accept: room for a thousand clients reconnecting at once. */
const LISTEN_BACKLOG = 4096;
/**
 * How long an idle keep-alive connection stays open. Clients that long-poll
 * /sync reuse theirs between polls; Node's default of 5 s races their next
 * request and resets it.
 */
const KEEP_ALIVE_MS = 75_000;

export interface BoundListener {
  url: string;
  resources: ListenerConfig['resources'];
}

export interface Homeserver {
  config: Config;
  services: Services;
  federation: Federation;
  /** Starts every listener; resolves with the addresses actually bound. */
  listen(): Promise<BoundListener[]>;
  /** Stops accepting, lets in-flight requests finish, closes the database. */
  stop(): Promise<void>;
}

export async function createHomeserver(config: Config, options: { log?: Logger } = {}): Promise<Homeserver> {
  const log = options.log ?? createLogger(config.log_level);
  const db = await openDb({ url: config.database.url, sqliteBusyTimeoutMs: config.database.sqlite_busy_timeout_ms });
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ migrations: applied }, 'applied database migrations');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const services = createServices(config, createStores(db), log);
  // The one place server/ reaches into federation/: the engine only publishes events, and federation subscribes.
  const federation = createFederation(services, log);
  const routesByResource: Record<ApiResource, Route<any>[]> = {
    client: clientRoutes(services),
    federation: federation.routes,
    metrics: [],
  };
  const running = new InFlight();
  /** A listener serves the routes of the resources it lists, and nothing else. */
  const appFor = (listener: ListenerConfig) =>
    createApp({
      config,
      log,
      routes: listener.resources.flatMap((resource) => routesByResource[resource]),
      inFlight: running,
      authenticate: (token, client) => services.sessions.authenticate(token, client),
      authenticateServer: (request) => federation.authenticateServer(request),
    });
  const servers: http.Server[] = [];
  const sockets: { close(): void }[] = [];

  return {
    config,
    services,
    federation,
    async listen() {
      const bound: BoundListener[] = [];
      for (const listener of config.listeners) {
        const app = appFor(listener);
        const server = listener.tls
          ? https.createServer({ cert: readFileSync(listener.tls.certificate_path), key: readFileSync(listener.tls.key_path) }, app.callback())
          : http.createServer(app.callback());
        server.keepAliveTimeout = KEEP_ALIVE_MS;
        countRequests(server);
        server.headersTimeout = KEEP_ALIVE_MS + 1000;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port: listener.port, host: listener.bind_address, backlog: LISTEN_BACKLOG }, () => resolve());
        });
        servers.push(server);
        if (listener.resources.includes('client')) sockets.push(serveSyncWebSocket(server, services, log, { inFlight: running }));
        const address = server.address() as AddressInfo;
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        bound.push({ url: `${listener.tls ? 'https' : 'http'}://${host}:${address.port}`, resources: listener.resources });
      }
      return bound;
    },
    stop: () => {
      services.notifier.close();
      for (const socket of sockets) socket.close();
      return stop(servers, running, services, federation, db);
    },
  };
}

/** Requests each server is answering: a stopping server drops its connections once none is left. */
const inFlight = new WeakMap<http.Server, number>();

function countRequests(server: http.Server): void {
  inFlight.set(server, 0);
  server.on('request', (_req, res: http.ServerResponse) => {
    inFlight.set(server, inFlight.get(server)! + 1);
    res.once('close', () => inFlight.set(server, inFlight.get(server)! - 1));
  });
}

/** Closes the listeners, then the services' work in the background (which uses the database), then the database. */
async function stop(servers: http.Server[], running: InFlight, services: Services, federation: Federation, db: Db): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          // In-flight requests finish; then every connection goes, idle keep-alive ones and
          // ones that never sent a request alike, so neither holds the stop.
          const reaper = setInterval(() => {
            if (inFlight.get(server) === 0) server.closeAllConnections();
            else server.closeIdleConnections();
          }, 50);
          server.close(() => {
            clearInterval(reaper);
            resolve();
          });
          server.closeIdleConnections();
        }),
    ),
  );
  // Handlers whose client went away may still be running: they finish before the database goes.
  await running.idle();
  await federation.stop();
  await services.close();
  await db.destroy();
}

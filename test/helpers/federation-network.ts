/**
 * Several Weft servers that federate with each other on loopback, as real
 * deployments do: each has a TLS federation listener (the self-signed test
 * certificate, test/fixtures/tls) whose address is its server name,
 * `127.0.0.1:PORT`, and a plain HTTP listener for the client API. Peers skip
 * certificate verification (federation.verify_tls: false); loopback is
 * allowlisted by testConfig.
 */
import { join } from 'node:path';
import type { Config } from '../../server/config/schema';
import { freePort } from './key-server';
import { freshDatabase, startServer, type DeepPartial, type TestDatabase, type TestServer } from './server';

const TLS = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');

export interface FederatedServer extends TestServer {
  /** The server name, `127.0.0.1:PORT`: also where its federation listener answers. */
  name: string;
  /** Its database, kept when it is stopped with `{ drop: false }`, for restartFederatedServer. */
  database: TestDatabase;
}

/** Starts one server of a test federation. */
export async function startFederatedServer(overrides: DeepPartial<Config> = {}, database: TestDatabase = freshDatabase()): Promise<FederatedServer> {
  const port = await freePort();
  const name = `127.0.0.1:${port}`;
  const server = await startServer({
    server_name: name,
    listeners: [
      { bind_address: '127.0.0.1', port: 0, resources: ['client'] },
      {
        bind_address: '127.0.0.1',
        port,
        resources: ['federation'],
        tls: { certificate_path: join(TLS, 'localhost.crt'), key_path: join(TLS, 'localhost.key') },
      },
    ],
    ...overrides,
    federation: { verify_tls: false, retry_initial_ms: 200, retry_max_ms: 2000, request_timeout_ms: 10_000, ...overrides.federation },
  }, database);
  return Object.assign(server, { name, database });
}

/**
 * Starts a stopped server again (stopped with `{ drop: false }`): the same
 * name, address, signing key and database, as after an outage.
 */
export async function restartFederatedServer(stopped: FederatedServer): Promise<FederatedServer> {
  const server = await startServer({ ...stopped.config, listeners: stopped.config.listeners } as DeepPartial<Config>, stopped.database);
  return Object.assign(server, { name: stopped.name, database: stopped.database });
}

/** Starts `count` servers of one test federation; stop them with stopAll. */
export async function startFederation(count: number, overrides: DeepPartial<Config> = {}): Promise<FederatedServer[]> {
  const servers: FederatedServer[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await startFederatedServer(overrides));
  } catch (err) {
    await stopAll(servers);
    throw err;
  }
  return servers;
}

export async function stopAll(servers: readonly TestServer[]): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
}

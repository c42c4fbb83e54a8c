/**
 * Several Weft servers that federate with each other on loopback, as real
 * deployments do: each has a TLS federation listener (the self-signed test
 * certificate, test/fixtures/tls) whose address is its server name,
 * `127.0.0.1:PORT`, and a plain HTTP listener for the client API. Peers skip
 * certificate verification (federation.verify_tls: false); loopback is
 * allowlisted by testConfig.
 */
import { join } from 'node:path';
import { authEventsSelection } from '../../spec/auth-events';
import { stateTuple, type RoomEvent } from '../../spec/pdu';
import { CREATE_TUPLE } from '../../spec/power-levels';
import { roomVersion } from '../../spec/room-versions';
import { signingKeyPair, type SigningKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import type { Config } from '../../server/config/schema';
import { buildEvent, type EventDraft, type Parent } from '../../server/rooms/event-builder';
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

/**
 * Events by users of `origin` (signed with `key`, its own by default) built
 * on `resident`'s view of the room, as `origin` would build them after
 * make_join: the first on the resident's forward extremities and current
 * state, each later one on the one before, the state moving with each state
 * event. Built only, stored nowhere; the auth rules are not consulted, so a
 * test may build events that break them.
 */
export async function buildOnResident(resident: TestServer, roomId: string, origin: FederatedServer, drafts: readonly EventDraft[], key?: SigningKeyPair): Promise<RoomEvent[]> {
  const { stores } = resident.hs.services;
  const version = roomVersion((await stores.rooms.get(roomId))!.version)!;
  const signingKey = key ?? signingKeyPair(parseSigningKey(origin.config.signing_key));
  const tuples = new Set([CREATE_TUPLE, ...drafts.flatMap((draft) => authEventsSelection({ ...draft, state_key: draft.stateKey }, version))]);
  const state = await stores.roomState.currentStateEvents(roomId, tuples);
  let parents: Parent[] = (await stores.events.forwardExtremities(roomId)).map((e) => ({ id: e.eventId, depth: e.depth, sha256: '' }));
  return drafts.map((draft) => {
    const event = buildEvent(draft, { version, roomId, serverName: origin.name, signingKey, nowMs: Date.now(), state, parents });
    parents = [{ id: event.id, depth: event.pdu.depth, sha256: event.pdu.hashes.sha256 }];
    if (event.pdu.state_key !== undefined) state.set(stateTuple(event.pdu.type, event.pdu.state_key), event);
    return event;
  });
}

/**
 * Federation tests without a second homeserver: a fake remote server (a name
 * and an ed25519 key) that signs its requests with X-Matrix, and a Weft test
 * server whose federation routes are served by a separate app whose
 * `authenticateServer` checks signatures against a fixed map of known
 * identities (a stand-in for the key ring, which fetches keys over the network).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MatrixError } from '../../spec/errors';
import { signingKeyPair, type SigningKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import { parseXMatrix, verifyXMatrix, xMatrixAuthorization } from '../../spec/x-matrix';
import { generateSigningKey } from '../../server/config/signing-key';
import { createApp, type ServerRequest } from '../../server/http/app';
import type { Route } from '../../server/http/route';
import { EventSender } from '../../server/rooms/event-sender';
import type { Services } from '../../server/services';
import { federationReadRoutes } from '../../federation/routes';
import { request, startServer, type DeepPartial, type Response, type TestServer } from './server';
import type { Config } from '../../server/config/schema';

/** Another server as the tests play it: its name and signing key. */
export interface RemoteIdentity {
  serverName: string;
  key: SigningKeyPair;
}

export function remoteIdentity(serverName = 'remote.example'): RemoteIdentity {
  return { serverName, key: signingKeyPair(parseSigningKey(generateSigningKey())) };
}

export interface FederationRequestOptions {
  /** The destination the request is signed for; the test server's name (`localhost`) by default. */
  destination?: string;
  /** Sent instead of a signature; null sends no Authorization header. */
  authorization?: string | null;
}

/**
 * A request to `baseUrl` signed by `identity` (X-Matrix, spec/x-matrix.ts).
 * `path` is sent as given, query included, and is what the signature covers.
 */
export async function federationRequest(
  baseUrl: string,
  identity: RemoteIdentity,
  method: string,
  path: string,
  body?: unknown,
  options: FederationRequestOptions = {},
): Promise<Response> {
  const destination = options.destination ?? 'localhost';
  const signed = { method, uri: path, origin: identity.serverName, destination, ...(body === undefined ? {} : { content: body }) };
  const authorization = options.authorization === undefined ? xMatrixAuthorization(signed, identity.key) : options.authorization;
  return request(baseUrl, method, path, { body, headers: authorization === null ? {} : { Authorization: authorization } });
}

/**
 * Checks an X-Matrix header against fixed public keys; what the key ring will
 * do with keys fetched from each origin. 401 M_UNAUTHORIZED for anything else.
 */
export function stubServerAuthenticator(serverName: string, known: readonly RemoteIdentity[]): (request: ServerRequest) => Promise<string> {
  const keys = new Map(known.map((identity) => [identity.serverName, identity.key]));
  return async (req) => {
    const unauthorized = (why: string) => new MatrixError(401, 'M_UNAUTHORIZED', why);
    const auth = parseXMatrix(req.authorization);
    if (!auth) throw unauthorized('Missing or malformed X-Matrix Authorization header');
    if (auth.destination !== undefined && auth.destination !== serverName) throw unauthorized('Request is for another server');
    const key = keys.get(auth.origin);
    if (!key || key.keyId !== auth.key) throw unauthorized('Unknown signing key');
    const signed = { method: req.method, uri: req.uri, origin: auth.origin, destination: serverName, content: req.body };
    if (!verifyXMatrix(signed, auth, key.publicKeyBase64)) throw unauthorized('Invalid signature');
    return auth.origin;
  };
}

export interface FederationTestServer {
  server: TestServer;
  services: Services;
  /** Where the federation routes are served. */
  federationUrl: string;
  serverName: string;
  /** A signed request from `identity` to the federation listener. */
  request(identity: RemoteIdentity, method: string, path: string, body?: unknown, options?: FederationRequestOptions): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A started test server, plus a listener on 127.0.0.1 serving `routes` (by
 * default federationReadRoutes) over its services, trusting `known` identities.
 */
export async function startFederationServer(
  known: readonly RemoteIdentity[],
  options: { config?: DeepPartial<Config>; routes?: (services: Services) => Route<any>[] } = {},
): Promise<FederationTestServer> {
  const server = await startServer(options.config);
  const services = server.hs.services;
  const serverName = server.config.server_name;
  const app = createApp({
    config: server.config,
    log: pino({ level: 'silent' }),
    routes: (options.routes ?? federationReadRoutes)(services),
    authenticate: (token, client) => services.sessions.authenticate(token, client),
    authenticateServer: stubServerAuthenticator(serverName, known),
  });
  const listener = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
  });
  const federationUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  return {
    server,
    services,
    federationUrl,
    serverName,
    request: (identity, method, path, body, requestOptions) =>
      federationRequest(federationUrl, identity, method, path, body, { destination: serverName, ...requestOptions }),
    async stop() {
      listener.closeAllConnections();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      await server.stop();
    },
  };
}

/**
 * Appends an event to a local room as if `identity` had sent it, without
 * inbound federation: an EventSender named for the remote server builds the
 * event on the room's current state and extremities, signs it with the remote
 * key, checks it against the auth rules, and persists it through the stores
 * like a local event (so the membership, state and timeline see it). Used to
 * make a remote user a member: `{ type: 'm.room.member', stateKey: userId,
 * sender: userId, content: { membership: 'join' } }` in a public room (or
 * after a local user invited them).
 */
export async function appendRemoteEvent(
  services: Services,
  identity: RemoteIdentity,
  roomId: string,
  draft: { type: string; sender: string; content: Record<string, unknown>; stateKey?: string },
): Promise<string> {
  const sender = new EventSender(services.stores, services.events, identity.serverName, identity.key);
  return (await sender.send(roomId, draft)).id;
}

/** A remote user joins a local room (see appendRemoteEvent). */
export function joinRemoteUser(services: Services, identity: RemoteIdentity, roomId: string, localpart = 'bob'): Promise<string> {
  const userId = `@${localpart}:${identity.serverName}`;
  return appendRemoteEvent(services, identity, roomId, { type: 'm.room.member', stateKey: userId, sender: userId, content: { membership: 'join' } });
}

/**
 * `userId`, of another server, joins a local room without inbound federation,
 * as it will once inbound federation accepts the join: for tests and benches
 * of what reads room membership (the federation sender).
 */
export function persistRemoteJoin(server: TestServer, roomId: string, userId: string): Promise<string> {
  const colon = userId.indexOf(':');
  return joinRemoteUser(server.hs.services, remoteIdentity(userId.slice(colon + 1)), roomId, userId.slice(1, colon));
}

/**
 * WebSocket sync: the responses /sync would give, pushed over a WebSocket;
 * resuming from a token; refusing bad upgrades; heartbeats, revoked tokens
 * and readers that fall behind.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { SYNC_WS_PATH, serveSyncWebSocket } from '../server/sync/websocket';
import { createRoom, send } from './helpers/rooms';
import { createUser, startServer, type TestServer, type TestUser } from './helpers/server';
import { messageBodies, timelineOf } from './helpers/sync';
import { queryString, type Query } from './helpers/timeline';

/** A WebSocket client that keeps every frame and close it receives. */
class Client {
  readonly frames: any[] = [];
  closed?: { code: number; reason: string };
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    ws.on('error', () => {});
  }

  /** Waits until `predicate` holds, or fails after `ms`. */
  async until(predicate: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${JSON.stringify(this.frames).slice(0, 500)}; closed: ${JSON.stringify(this.closed)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  syncs(): any[] {
    return this.frames.filter((f) => f.type === 'sync').map((f) => f.response);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

function wsUrl(baseUrl: string, query: Query): string {
  return `${baseUrl.replace(/^http/, 'ws')}${SYNC_WS_PATH}${queryString(query)}`;
}

async function connect(baseUrl: string, query: Query, headers: Record<string, string> = {}): Promise<Client> {
  const ws = new WebSocket(wsUrl(baseUrl, query), { headers });
  const client = new Client(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return client;
}

/** The status and body with which an upgrade is refused. */
function refusal(baseUrl: string, query: Query, path = SYNC_WS_PATH): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}${queryString(query)}`);
    ws.on('error', () => {});
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
  });
}

describe('WebSocket sync', () => {
  let server: TestServer;
  let alice: TestUser;
  let roomId: string;
  const open: Client[] = [];

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    roomId = await createRoom(server, alice, {});
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.ws.terminate();
  });
  after(() => server.stop());

  const connected = async (query: Query, headers?: Record<string, string>) => {
    const client = await connect(server.baseUrl, query, headers);
    open.push(client);
    return client;
  };

  it('sends an initial sync, then each change as it happens', async () => {
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'before connecting' });
    const client = await connected({}, { Authorization: `Bearer ${alice.accessToken}` });
    await client.until(() => client.syncs().length === 1);
    assert.ok(messageBodies(timelineOf(client.syncs()[0], roomId)).includes('before connecting'));

    await send(server, alice, roomId, { msgtype: 'm.text', body: 'live' });
    await client.until(() => client.syncs().length === 2);
    const live = client.syncs()[1];
    assert.deepEqual(messageBodies(timelineOf(live, roomId)), ['live']);
    assert.notEqual(live.next_batch, client.syncs()[0].next_batch);
  });

  it('resumes from a since token with only what came after it, and applies the filter', async () => {
    const first = await connected({ access_token: alice.accessToken });
    await first.until(() => first.syncs().length === 1);
    const since = first.syncs()[0].next_batch;
    first.ws.close();
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'while away' }, 'org.example.other');
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'while away' });

    const resumed = await connected({ access_token: alice.accessToken, since, filter: { room: { timeline: { types: ['m.room.message'] } } } });
    await resumed.until(() => resumed.syncs().length === 1);
    assert.deepEqual(timelineOf(resumed.syncs()[0], roomId).map((e: any) => e.type), ['m.room.message']);
  });

  it('refuses upgrades without a valid token, with a bad since or filter, or on another path', async () => {
    assert.deepEqual((await refusal(server.baseUrl, {})).body.errcode, 'M_MISSING_TOKEN');
    const unknown = await refusal(server.baseUrl, { access_token: 'wft_nope' });
    assert.deepEqual([unknown.status, unknown.body.errcode], [401, 'M_UNKNOWN_TOKEN']);
    const since = await refusal(server.baseUrl, { access_token: alice.accessToken, since: 'nonsense' });
    assert.deepEqual([since.status, since.body.errcode], [400, 'M_INVALID_PARAM']);
    const filter = await refusal(server.baseUrl, { access_token: alice.accessToken, filter: '999999' });
    assert.deepEqual([filter.status, filter.body.errcode], [400, 'M_INVALID_PARAM']);
    const presence = await refusal(server.baseUrl, { access_token: alice.accessToken, set_presence: 'asleep' });
    assert.deepEqual([presence.status, presence.body.errcode], [400, 'M_INVALID_PARAM']);
    const path = await refusal(server.baseUrl, { access_token: alice.accessToken }, '/_matrix/client/v3/sync');
    assert.deepEqual([path.status, path.body.errcode], [404, 'M_UNRECOGNIZED']);
  });

  it('closes with an error frame on a frame it does not understand', async () => {
    const client = await connected({ access_token: alice.accessToken });
    await client.until(() => client.syncs().length === 1);
    client.ws.send('not json');
    await client.until(() => client.closed !== undefined);
    assert.equal(client.closed!.code, 4000);
    assert.equal(client.frames.at(-1).errcode, 'M_NOT_JSON');

    const other = await connected({ access_token: alice.accessToken });
    other.ws.send(JSON.stringify({ type: 'subscribe' }));
    await other.until(() => other.closed !== undefined);
    assert.equal(other.closed!.code, 4000);
    assert.equal(other.frames.at(-1).errcode, 'M_UNRECOGNIZED');
  });

  it('accepts acknowledgements of the tokens it sent', async () => {
    const client = await connected({ access_token: alice.accessToken });
    await client.until(() => client.syncs().length === 1);
    client.ws.send(JSON.stringify({ type: 'ack', next_batch: client.syncs()[0].next_batch }));
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'after the ack' });
    await client.until(() => client.syncs().length === 2);
    assert.equal(client.closed, undefined);
  });
});

describe('WebSocket sync heartbeats and slow readers', () => {
  let server: TestServer;
  let alice: TestUser;
  const listeners: { http: http.Server; socket: { close(): void } }[] = [];

  /** A listener serving only WebSocket sync, with short limits. */
  const listen = async (options: { heartbeatMs: number; slowReaderMs: number }): Promise<string> => {
    const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
    listeners.push({ http: httpServer, socket: serveSyncWebSocket(httpServer, server.hs.services, server.hs.services.log, options) });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  };

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
  });
  after(async () => {
    for (const { http: httpServer, socket } of listeners) {
      socket.close();
      await new Promise((resolve) => httpServer.close(resolve));
    }
    await server.stop();
  });

  it('closes the connection (4001) once its access token is logged out', async () => {
    const baseUrl = await listen({ heartbeatMs: 150, slowReaderMs: 60_000 });
    const session = await server.hs.services.accounts.startSession(alice.userId, {});
    const client = await connect(baseUrl, { access_token: session.access_token });
    await client.until(() => client.syncs().length === 1);
    const logout = await server.request('POST', '/_matrix/client/v3/logout', { token: session.access_token, body: {} });
    assert.equal(logout.status, 200);
    await client.until(() => client.closed !== undefined);
    assert.equal(client.closed!.code, 4001);
    assert.equal(client.frames.at(-1).errcode, 'M_UNKNOWN_TOKEN');
  });

  it('disconnects a client that stops answering pings', async () => {
    const baseUrl = await listen({ heartbeatMs: 150, slowReaderMs: 60_000 });
    const client = await connect(baseUrl, { access_token: alice.accessToken });
    await client.until(() => client.syncs().length === 1);
    // Stop reading for a few heartbeats: no pongs go back, so the server gives up on the connection.
    const raw = (client.ws as any)._socket;
    raw.pause();
    await new Promise((resolve) => setTimeout(resolve, 600));
    raw.resume();
    await client.until(() => client.closed !== undefined, 2000);
    assert.equal(client.closed!.code, 1006, 'dropped, not closed politely');
  });

  it('drops a reader that falls behind rather than buffering for it; it resumes from its last token with nothing lost', async () => {
    // Heartbeats too far apart to matter: only the unread data can end this connection.
    const baseUrl = await listen({ heartbeatMs: 60_000, slowReaderMs: 300 });
    const bob = await createUser(server, 'bob');
    const roomId = await createRoom(server, bob, {});
    const client = await connect(baseUrl, { access_token: bob.accessToken });
    await client.until(() => client.syncs().length === 1);
    const received = client.syncs()[0].next_batch;
    const raw = (client.ws as any)._socket;
    raw.pause();
    // Far more than the kernel buffers of a connection whose reader takes nothing.
    const big = 'x'.repeat(60_000);
    const sent = 150;
    for (let i = 0; i < sent; i++) await send(server, bob, roomId, { msgtype: 'm.text', body: `${i} ${big}` });
    await new Promise((resolve) => setTimeout(resolve, 500));
    raw.resume();
    await client.until(() => client.closed !== undefined, 5000);
    assert.equal(client.closed!.code, 1006, 'the server dropped the reader that did not read');

    const resumed = await connect(baseUrl, { access_token: bob.accessToken, since: received, filter: { room: { timeline: { limit: 1000 } } } });
    await resumed.until(() => resumed.syncs().length === 1);
    const bodies = messageBodies(timelineOf(resumed.syncs()[0], roomId)).map((body) => Number(body.split(' ')[0]));
    assert.deepEqual(bodies, Array.from({ length: sent }, (_, i) => i));
    resumed.ws.terminate();
  });
});

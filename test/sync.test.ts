/**
 * GET /sync through the HTTP API: initial and incremental syncs, the long-poll
 * and whom it wakes, tokens (also across a restart and as /messages tokens),
 * and the request errors.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRoom, join, send } from './helpers/rooms';
import { createUser, expectError, freshDatabase, startServer, type TestServer, type TestUser } from './helpers/server';
import { getSync, joinedRoom, messageBodies, settledWithin, stateOf, sync, SYNC, timelineOf } from './helpers/sync';
import { messages, setState } from './helpers/timeline';

describe('GET /sync', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  describe('initial sync', () => {
    let roomId: string;
    let body: any;

    before(async () => {
      roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Initial' });
      for (let i = 0; i < 15; i++) await send(server, alice, roomId, { msgtype: 'm.text', body: `m${i}` });
      body = await sync(server, alice);
    });

    it('gives the latest events of each joined room, oldest first, limited to 10 by default', () => {
      const room = joinedRoom(body, roomId);
      assert.deepEqual(messageBodies(room.timeline.events), ['m5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12', 'm13', 'm14']);
      assert.equal(room.timeline.limited, true);
      assert.ok(room.timeline.events.every((e: any) => e.room_id === undefined && typeof e.event_id === 'string'));
    });

    it('gives the whole state at the start of the timeline', () => {
      const types = stateOf(body, roomId).map((e: any) => e.type);
      for (const type of ['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.name']) assert.ok(types.includes(type), type);
      assert.equal(stateOf(body, roomId).find((e: any) => e.type === 'm.room.name').content.name, 'Initial');
    });

    it('gives a summary with the member counts', () => {
      assert.deepEqual(joinedRoom(body, roomId).summary, { 'm.joined_member_count': 1, 'm.invited_member_count': 0 }, 'a named room needs no heroes');
    });

    it('hands out a prev_batch that /messages pages back from, to the events before the timeline', async () => {
      const page = await messages(server, alice, roomId, { dir: 'b', from: joinedRoom(body, roomId).timeline.prev_batch, limit: 5 });
      assert.deepEqual(messageBodies(page.chunk), ['m4', 'm3', 'm2', 'm1', 'm0']);
    });

    it('answers at once even with a timeout, and with the client-server required fields', async () => {
      const started = Date.now();
      const again = await sync(server, alice, { timeout: 10_000 });
      assert.ok(Date.now() - started < 5000);
      assert.match(again.next_batch, /^s\d+(_\d+)+$/);
      assert.deepEqual(again.device_unused_fallback_key_types, []);
    });

    it('honours the timeline limit of a filter', async () => {
      const limited = await sync(server, alice, { filter: { room: { timeline: { limit: 2 } } } });
      assert.deepEqual(messageBodies(timelineOf(limited, roomId)), ['m13', 'm14']);
    });
  });

  describe('incremental sync', () => {
    let roomId: string;
    let otherRoom: string;

    before(async () => {
      roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, roomId);
      otherRoom = await createRoom(server, alice, {});
    });

    it('gives only what happened since the token', async () => {
      const first = await sync(server, bob);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'after' });
      const next = await sync(server, bob, { since: first.next_batch });
      assert.deepEqual(messageBodies(timelineOf(next, roomId)), ['after']);
      assert.equal(joinedRoom(next, roomId).timeline.limited, false);
      assert.equal(joinedRoom(next, otherRoom), undefined);
      const nothing = await sync(server, bob, { since: next.next_batch });
      assert.equal(nothing.rooms, undefined);
      assert.equal(nothing.next_batch, next.next_batch);
    });

    it('waits for news and answers as soon as an event arrives in a joined room', async () => {
      const { next_batch: since } = await sync(server, bob);
      const waiting = sync(server, bob, { since, timeout: 20_000 });
      assert.equal(await settledWithin(waiting, 200), 'pending');
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'wake up' });
      const woken = await settledWithin(waiting, 5000);
      assert.notEqual(woken, 'pending');
      assert.deepEqual(messageBodies(timelineOf(woken, roomId)), ['wake up']);
    });

    it('is not woken by events in rooms the user is not in', async () => {
      const { next_batch: since } = await sync(server, bob);
      const waiting = sync(server, bob, { since, timeout: 20_000 });
      await settledWithin(waiting, 100);
      await send(server, alice, otherRoom, { msgtype: 'm.text', body: 'elsewhere' });
      assert.equal(await settledWithin(waiting, 500), 'pending');
      assert.equal(server.hs.services.notifier.waiters >= 1, true);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'here' });
      const woken = await waiting;
      assert.deepEqual(messageBodies(timelineOf(woken, roomId)), ['here']);
      assert.equal(joinedRoom(woken, otherRoom), undefined);
    });

    it('answers empty after the timeout when nothing happens, with a token that still works', async () => {
      const { next_batch: since } = await sync(server, bob);
      const started = Date.now();
      const empty = await sync(server, bob, { since, timeout: 300 });
      assert.ok(Date.now() - started >= 250);
      assert.equal(empty.rooms, undefined);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'later' });
      assert.deepEqual(messageBodies(timelineOf(await sync(server, bob, { since: empty.next_batch }), roomId)), ['later']);
    });

    it('marks a gap as limited and gives the state that changed in it', async () => {
      const { next_batch: since } = await sync(server, bob);
      await setState(server, alice, roomId, 'm.room.topic', { topic: 'changed in the gap' });
      for (let i = 0; i < 12; i++) await send(server, alice, roomId, { msgtype: 'm.text', body: `g${i}` });
      const gap = await sync(server, bob, { since });
      const room = joinedRoom(gap, roomId);
      assert.equal(room.timeline.limited, true);
      assert.deepEqual(messageBodies(room.timeline.events), ['g2', 'g3', 'g4', 'g5', 'g6', 'g7', 'g8', 'g9', 'g10', 'g11']);
      assert.deepEqual(room.state.events.map((e: any) => [e.type, e.content.topic]), [['m.room.topic', 'changed in the gap']]);
      // /messages from the old token up to prev_batch fills the gap.
      const filled = await messages(server, bob, roomId, { dir: 'f', from: since, to: room.timeline.prev_batch, limit: 50 });
      assert.deepEqual(messageBodies(filled.chunk), ['g0', 'g1']);
    });

    it('shows the sending device its transaction ID, and no one else', async () => {
      const { next_batch: aliceSince } = await sync(server, alice);
      const { next_batch: bobSince } = await sync(server, bob);
      const res = await server.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/my-txn-1`, {
        token: alice.accessToken,
        body: { msgtype: 'm.text', body: 'with txn' },
      });
      assert.equal(res.status, 200);
      const own = timelineOf(await sync(server, alice, { since: aliceSince }), roomId);
      assert.equal(own.find((e: any) => e.event_id === res.body.event_id).unsigned.transaction_id, 'my-txn-1');
      const theirs = timelineOf(await sync(server, bob, { since: bobSince }), roomId);
      assert.equal(theirs.find((e: any) => e.event_id === res.body.event_id).unsigned.transaction_id, undefined);
    });

    it('with full_state, gives the whole state and answers at once', async () => {
      const { next_batch: since } = await sync(server, bob);
      const started = Date.now();
      const full = await sync(server, bob, { since, full_state: true, timeout: 10_000 });
      assert.ok(Date.now() - started < 5000);
      const types = stateOf(full, roomId).map((e: any) => e.type);
      assert.ok(types.includes('m.room.create') && types.includes('m.room.topic'));
      assert.deepEqual(timelineOf(full, roomId), []);
    });

    it('with use_state_after, gives state_after (the state at the end of the timeline) instead of state', async () => {
      const { next_batch: since } = await sync(server, bob);
      await setState(server, alice, roomId, 'm.room.topic', { topic: 'after' });
      const body = await sync(server, bob, { since, use_state_after: true });
      const room = joinedRoom(body, roomId);
      assert.equal(room.state, undefined);
      assert.deepEqual(room.state_after.events.map((e: any) => e.content.topic), ['after']);
      const initial = joinedRoom(await sync(server, bob, { use_state_after: true }), roomId);
      assert.equal(initial.state, undefined);
      assert.equal(initial.state_after.events.find((e: any) => e.type === 'm.room.topic').content.topic, 'after');
    });
  });

  describe('account data', () => {
    it('comes whole in an initial sync and as changes after, global and per room', async () => {
      const roomId = await createRoom(server, alice, {});
      const path = (room?: string) =>
        room
          ? `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/rooms/${encodeURIComponent(room)}/account_data/org.example.room`
          : `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/org.example.global`;
      await server.request('PUT', path(), { token: alice.accessToken, body: { v: 1 } });
      await server.request('PUT', path(roomId), { token: alice.accessToken, body: { r: 1 } });
      const initial = await sync(server, alice);
      assert.deepEqual(initial.account_data.events.find((e: any) => e.type === 'org.example.global'), { type: 'org.example.global', content: { v: 1 } });
      assert.deepEqual(joinedRoom(initial, roomId).account_data.events, [{ type: 'org.example.room', content: { r: 1 } }]);

      const waiting = sync(server, alice, { since: initial.next_batch, timeout: 10_000 });
      await settledWithin(waiting, 100);
      await server.request('PUT', path(roomId), { token: alice.accessToken, body: { r: 2 } });
      const next = await waiting;
      assert.equal(next.account_data, undefined);
      assert.deepEqual(joinedRoom(next, roomId).account_data.events, [{ type: 'org.example.room', content: { r: 2 } }]);
    });

    it('filters account data by type', async () => {
      const body = await sync(server, alice, { filter: { account_data: { not_types: ['org.example.*'] } } });
      assert.ok(!(body.account_data?.events ?? []).some((e: any) => e.type.startsWith('org.example.')));
    });
  });

  describe('errors', () => {
    it('needs an access token', async () => {
      expectError(await server.request('GET', SYNC), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', SYNC, { token: 'wft_nope' }), 401, 'M_UNKNOWN_TOKEN');
    });

    it('refuses malformed parameters', async () => {
      expectError(await getSync(server, alice, { since: 'garbage' }), 400, 'M_INVALID_PARAM');
      expectError(await getSync(server, alice, { since: 's1_x' }), 400, 'M_INVALID_PARAM');
      expectError(await getSync(server, alice, { timeout: 'soon' }), 400, 'M_INVALID_PARAM');
      expectError(await getSync(server, alice, { timeout: -5 }), 400, 'M_INVALID_PARAM');
      expectError(await getSync(server, alice, { full_state: 'yes' }), 400, 'M_INVALID_PARAM');
      expectError(await getSync(server, alice, { set_presence: 'busy' }), 400, 'M_INVALID_PARAM');
    });

    it('refuses filters that are not JSON, break the schema, or name no filter of the user', async () => {
      expectError(await server.request('GET', `${SYNC}?filter=${encodeURIComponent('{nope')}`, { token: alice.accessToken }), 400, 'M_NOT_JSON');
      expectError(await getSync(server, alice, { filter: { room: { timeline: { limit: 'ten' } } } }), 400, 'M_BAD_JSON');
      expectError(await getSync(server, alice, { filter: '12345' }), 400, 'M_INVALID_PARAM');
    });

    it('accepts a filter uploaded by the user, by its ID', async () => {
      const roomId = await createRoom(server, alice, {});
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'one' });
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'two' });
      const uploaded = await server.request('POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/filter`, {
        token: alice.accessToken,
        body: { room: { timeline: { limit: 1 } } },
      });
      const body = await sync(server, alice, { filter: uploaded.body.filter_id });
      assert.deepEqual(messageBodies(timelineOf(body, roomId)), ['two']);
    });
  });
});

describe('sync tokens across a restart', () => {
  it('an incremental sync after a restart gives exactly what happened since the token', async () => {
    const database = freshDatabase();
    let server = await startServer({}, database);
    const alice = await createUser(server, 'alice');
    const roomId = await createRoom(server, alice, {});
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'before' });
    const { next_batch: since } = await sync(server, alice);
    await server.stop({ drop: false });

    server = await startServer({ signing_key: server.config.signing_key }, database);
    try {
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'after restart' });
      const next = await sync(server, alice, { since });
      assert.deepEqual(messageBodies(timelineOf(next, roomId)), ['after restart']);
    } finally {
      await server.stop();
    }
  });
});

describe('stopping the server', () => {
  it('is not held by a connection that never sent a request', async () => {
    const server = await startServer();
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    await server.stop();
    assert.ok(Date.now() - started < 5000);
    socket.destroy();
  });

  it('answers waiting syncs at once instead of holding the shutdown', async () => {
    const server = await startServer();
    const alice = await createUser(server, 'alice');
    const { next_batch: since } = await sync(server, alice);
    const waiting = getSync(server, alice, { since, timeout: 60_000 });
    await settledWithin(waiting, 200);
    const started = Date.now();
    await server.stop();
    assert.ok(Date.now() - started < 5000);
    assert.equal((await waiting).status, 200);
  });
});

describe('a client that goes away', () => {
  it('ends its long-poll without reading anything more from the database', async () => {
    const server = await startServer();
    try {
      const alice = await createUser(server, 'alice');
      const { next_batch: since } = await sync(server, alice);
      const longPoll = http.get(`${server.baseUrl}${SYNC}?since=${encodeURIComponent(since)}&timeout=60000`, {
        headers: { Authorization: `Bearer ${alice.accessToken}` },
        agent: false,
      });
      longPoll.on('error', () => {});
      while (server.hs.services.notifier.waiters === 0) await sleep(5);
      const queries: string[] = [];
      server.hs.services.stores.db.on('query', (query: { sql: string }) => queries.push(query.sql));
      longPoll.destroy();
      while (server.hs.services.notifier.waiters > 0) await sleep(5);
      await sleep(100);
      assert.deepEqual(queries, []);
    } finally {
      await server.stop();
    }
  });
});

/**
 * Receipts and read markers over HTTP: who sees which receipt in /sync, how
 * receipts lower unread counts (threads included), and the errors.
 */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const text = (body: string, extra: Record<string, unknown> = {}) => ({ msgtype: 'm.text', body, ...extra });
const inThread = (root: string, body: string) => text(body, { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });

describe('receipts and read markers', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
  });
  after(() => server.stop());

  async function room(...members: TestUser[]): Promise<string> {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    for (const member of members) await join(server, member, roomId);
    return roomId;
  }

  const receipt = (user: TestUser, roomId: string, type: string, eventId: string, body: unknown = {}) =>
    server.request('POST', roomPath(roomId, `/receipt/${enc(type)}/${enc(eventId)}`), { token: user.accessToken, body });
  const markers = (user: TestUser, roomId: string, body: unknown) => server.request('POST', roomPath(roomId, '/read_markers'), { token: user.accessToken, body });

  async function ok(res: Promise<{ status: number; body: unknown }>): Promise<void> {
    const { status, body } = await res;
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body, {});
  }

  async function sync(user: TestUser, query: Record<string, string> = {}): Promise<any> {
    const params = new URLSearchParams(query).toString();
    const res = await server.request('GET', `${V3}/sync${params ? `?${params}` : ''}`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** The m.receipt content the sync response holds for the room (merged, should there be several). */
  const receiptsIn = (body: any, roomId: string): Record<string, any> =>
    Object.assign({}, ...(body.rooms?.join?.[roomId]?.ephemeral?.events ?? []).filter((e: any) => e.type === 'm.receipt').map((e: any) => e.content));

  const THREADS = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });

  describe('m.read', () => {
    it("reaches the other members' /sync, on an initial sync and as a change", async () => {
      const roomId = await room(bob);
      const first = await send(server, alice, roomId, text('one'));
      const start = await sync(bob);
      const waiting = sync(bob, { since: start.next_batch, timeout: '10000' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await ok(receipt(alice, roomId, 'm.read', first));
      const change = receiptsIn(await waiting, roomId);
      assert.deepEqual(Object.keys(change), [first]);
      assert.deepEqual(Object.keys(change[first]), ['m.read']);
      assert.ok(Number.isInteger(change[first]['m.read'][alice.userId].ts));
      assert.equal(change[first]['m.read'][alice.userId].thread_id, undefined, 'unthreaded');
      assert.deepEqual(receiptsIn(await sync(bob), roomId), change, 'and on an initial sync');
    });

    it('moves forwards only, and sends only what changed since', async () => {
      const roomId = await room(bob);
      const [a, b] = [await send(server, alice, roomId, text('a')), await send(server, alice, roomId, text('b'))];
      await ok(receipt(bob, roomId, 'm.read', b));
      const start = await sync(alice);
      await ok(receipt(bob, roomId, 'm.read', a));
      assert.deepEqual(Object.keys(receiptsIn(await sync(alice), roomId)), [b], 'still at b');
      assert.deepEqual(receiptsIn(await sync(alice, { since: start.next_batch, timeout: '0' }), roomId), {}, 'nothing changed');
    });

    it('is kept per thread: an unthreaded, a main and a thread receipt live side by side', async () => {
      const roomId = await room(bob, carol);
      const root = await send(server, alice, roomId, text('root'));
      const reply = await send(server, alice, roomId, inThread(root, 'reply'));
      const later = await send(server, alice, roomId, text('later'));
      await ok(receipt(bob, roomId, 'm.read', root));
      await ok(receipt(bob, roomId, 'm.read', later, { thread_id: 'main' }));
      await ok(receipt(bob, roomId, 'm.read', reply, { thread_id: root }));
      await ok(receipt(carol, roomId, 'm.read', root, { thread_id: root }));
      const got = receiptsIn(await sync(alice), roomId);
      assert.deepEqual(got[root]['m.read'][bob.userId].thread_id, undefined);
      assert.equal(got[later]['m.read'][bob.userId].thread_id, 'main');
      assert.equal(got[reply]['m.read'][bob.userId].thread_id, root);
      assert.equal(got[root]['m.read'][carol.userId].thread_id, root, "a thread's root may carry the thread's receipt");
    });

    it('honours the ephemeral filter', async () => {
      const roomId = await room(bob);
      await ok(receipt(bob, roomId, 'm.read', await send(server, alice, roomId, text('x'))));
      assert.deepEqual(receiptsIn(await sync(alice, { filter: JSON.stringify({ room: { ephemeral: { not_types: ['m.receipt'] } } }) }), roomId), {});
      assert.deepEqual(receiptsIn(await sync(alice, { filter: JSON.stringify({ room: { ephemeral: { not_rooms: [roomId] } } }) }), roomId), {});
      assert.notDeepEqual(receiptsIn(await sync(alice, { filter: JSON.stringify({ room: { ephemeral: { types: ['m.receipt'] } } }) }), roomId), {});
    });
  });

  describe('m.read.private', () => {
    it("reaches its owner's /sync and never another user's", async () => {
      const roomId = await room(bob, carol);
      const event = await send(server, alice, roomId, text('secret'));
      const bobStart = await sync(bob);
      const carolStart = await sync(carol);
      await ok(receipt(carol, roomId, 'm.read.private', event));
      const own = receiptsIn(await sync(carol, { since: carolStart.next_batch, timeout: '5000' }), roomId);
      assert.deepEqual(Object.keys(own[event]), ['m.read.private']);
      assert.ok(own[event]['m.read.private'][carol.userId].ts > 0);
      assert.deepEqual(Object.keys(receiptsIn(await sync(carol), roomId)[event]), ['m.read.private'], 'initial sync too');

      const json = JSON.stringify([await sync(bob, { since: bobStart.next_batch, timeout: '300' }), await sync(bob), await sync(alice)]);
      assert.ok(!json.includes('m.read.private'), json);
      await ok(receipt(carol, roomId, 'm.read', event));
      assert.deepEqual(Object.keys(receiptsIn(await sync(bob), roomId)[event]), ['m.read'], 'the public one does reach bob');
    });
  });

  describe('unread counts', () => {
    /** A room where alice writes to bob; carol's receipt keeps it in bob's sync responses. */
    async function conversation(): Promise<{ roomId: string; events: string[] }> {
      const roomId = await room(bob, carol);
      const events = [];
      for (const body of ['one', 'two', 'three', 'four']) events.push(await send(server, alice, roomId, text(body)));
      await ok(receipt(carol, roomId, 'm.read', events[0]));
      return { roomId, events };
    }
    const countsOf = async (user: TestUser, roomId: string, query: Record<string, string> = {}) => {
      const joined = (await sync(user, query)).rooms?.join?.[roomId];
      assert.ok(joined, 'the room is in the response');
      return joined;
    };
    const count = (n: number, h = 0) => ({ notification_count: n, highlight_count: h });

    it('fall after m.read, in the next /sync of the reader', async () => {
      const { roomId, events } = await conversation();
      const start = await sync(bob);
      assert.deepEqual(start.rooms.join[roomId].unread_notifications, count(4));
      await ok(receipt(bob, roomId, 'm.read', events[1]));
      const next = await sync(bob, { since: start.next_batch, timeout: '5000' });
      assert.deepEqual(next.rooms.join[roomId].unread_notifications, count(2));
      assert.ok(receiptsIn(next, roomId)[events[1]], 'with the receipt itself');
    });

    it('fall after m.read.private, and the later of the two receipts counts', async () => {
      const { roomId, events } = await conversation();
      await ok(receipt(bob, roomId, 'm.read.private', events[2]));
      assert.deepEqual((await countsOf(bob, roomId)).unread_notifications, count(1));
      await ok(receipt(bob, roomId, 'm.read', events[0]));
      assert.deepEqual((await countsOf(bob, roomId)).unread_notifications, count(1), 'a public receipt behind the private one rewinds nothing');
      await ok(receipt(bob, roomId, 'm.read', events[3]));
      assert.deepEqual((await countsOf(bob, roomId)).unread_notifications, count(0));
    });

    it('count highlights too', async () => {
      const roomId = await room(bob, carol);
      const mention = await send(server, alice, roomId, text('bob?', { 'm.mentions': { user_ids: [bob.userId] } }));
      await send(server, alice, roomId, text('anyone?'));
      await ok(receipt(carol, roomId, 'm.read', mention));
      assert.deepEqual((await countsOf(bob, roomId)).unread_notifications, count(2, 1));
      await ok(receipt(bob, roomId, 'm.read', mention));
      assert.deepEqual((await countsOf(bob, roomId)).unread_notifications, count(1, 0));
    });

    it('split by thread when the filter asks, and threaded receipts clear their thread only', async () => {
      const roomId = await room(bob, carol);
      const root = await send(server, alice, roomId, text('root'));
      const replies = [await send(server, alice, roomId, inThread(root, 'r1')), await send(server, alice, roomId, inThread(root, 'r2'))];
      await send(server, alice, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: replies[0], key: 'x' } }, 'm.reaction');
      const mentionInThread = await send(server, alice, roomId, { ...inThread(root, 'bob'), 'm.mentions': { user_ids: [bob.userId] } });
      const main = await send(server, alice, roomId, text('main'));
      await ok(receipt(carol, roomId, 'm.read', main));

      assert.deepEqual((await countsOf(bob, roomId)).unread_notifications, count(5, 1), 'without the filter: the whole room');
      let counts = await countsOf(bob, roomId, { filter: THREADS });
      assert.deepEqual(counts.unread_notifications, count(2), 'main timeline: root and main');
      assert.deepEqual(counts.unread_thread_notifications, { [root]: count(3, 1) });

      await ok(receipt(bob, roomId, 'm.read', replies[1], { thread_id: root }));
      counts = await countsOf(bob, roomId, { filter: THREADS });
      assert.deepEqual(counts.unread_notifications, count(2), 'the main timeline is untouched');
      assert.deepEqual(counts.unread_thread_notifications, { [root]: count(1, 1) });

      await ok(receipt(bob, roomId, 'm.read', main, { thread_id: 'main' }));
      counts = await countsOf(bob, roomId, { filter: THREADS });
      assert.deepEqual(counts.unread_notifications, count(0));
      assert.deepEqual(counts.unread_thread_notifications, { [root]: count(1, 1) }, 'the thread is untouched');

      await ok(receipt(bob, roomId, 'm.read', mentionInThread, { thread_id: root }));
      counts = await countsOf(bob, roomId, { filter: THREADS });
      assert.equal(counts.unread_thread_notifications, undefined, 'no thread has notifications left');
    });

    it('an unthreaded receipt clears every thread up to its event', async () => {
      const roomId = await room(bob, carol);
      const root = await send(server, alice, roomId, text('root'));
      await send(server, alice, roomId, inThread(root, 'r1'));
      const main = await send(server, alice, roomId, text('main'));
      await send(server, alice, roomId, inThread(root, 'r2'));
      await ok(receipt(carol, roomId, 'm.read', main));
      await ok(receipt(bob, roomId, 'm.read', main));
      const counts = await countsOf(bob, roomId, { filter: THREADS });
      assert.deepEqual(counts.unread_notifications, count(0));
      assert.deepEqual(counts.unread_thread_notifications, { [root]: count(1) });
    });
  });

  describe('read markers', () => {
    const unread = async (user: TestUser, roomId: string) => (await sync(user)).rooms.join[roomId].unread_notifications;
    const fullyRead = (user: TestUser, roomId: string) =>
      server.request('GET', `${V3}/user/${enc(user.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`, { token: user.accessToken });

    it('set m.fully_read in room account data, forwards only, and the receipts given', async () => {
      const roomId = await room(bob);
      const [a, b] = [await send(server, alice, roomId, text('a')), await send(server, alice, roomId, text('b'))];
      const start = await sync(bob);
      await ok(markers(bob, roomId, { 'm.fully_read': b, 'm.read': b, 'm.read.private': a }));
      assert.deepEqual((await fullyRead(bob, roomId)).body, { event_id: b });
      const next = await sync(bob, { since: start.next_batch, timeout: '5000' });
      const accountData = next.rooms.join[roomId].account_data.events;
      assert.deepEqual(accountData, [{ type: 'm.fully_read', content: { event_id: b } }]);
      const receipts = receiptsIn(next, roomId);
      assert.ok(receipts[b]['m.read'][bob.userId] && receipts[a]['m.read.private'][bob.userId]);
      assert.deepEqual(await unread(bob, roomId), { notification_count: 0, highlight_count: 0 });

      await ok(markers(bob, roomId, { 'm.fully_read': a }));
      assert.deepEqual((await fullyRead(bob, roomId)).body, { event_id: b }, 'never backwards');
      await ok(markers(bob, roomId, {}));
    });

    it('can be set through /receipt with m.fully_read', async () => {
      const roomId = await room(bob);
      const event = await send(server, alice, roomId, text('x'));
      await ok(receipt(bob, roomId, 'm.fully_read', event));
      assert.deepEqual((await fullyRead(bob, roomId)).body, { event_id: event });
      assert.ok(!JSON.stringify(receiptsIn(await sync(alice), roomId)).includes('m.fully_read'), 'not a receipt');
      expectError(await receipt(bob, roomId, 'm.fully_read', event, { thread_id: 'main' }), 400, 'M_INVALID_PARAM');
    });

    it('refuses a direct PUT of m.fully_read', async () => {
      const roomId = await room(bob);
      const put = await server.request('PUT', `${V3}/user/${enc(bob.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`, {
        token: bob.accessToken,
        body: { event_id: '$forged' },
      });
      expectError(put, 405, 'M_BAD_JSON');
      expectError(await fullyRead(bob, roomId), 404, 'M_NOT_FOUND');
    });

    it('write nothing when one of the events is not in the room', async () => {
      const roomId = await room(bob);
      const other = await room(bob);
      const here = await send(server, alice, roomId, text('here'));
      const there = await send(server, alice, other, text('there'));
      expectError(await markers(bob, roomId, { 'm.fully_read': here, 'm.read': there }), 404, 'M_NOT_FOUND');
      expectError(await fullyRead(bob, roomId), 404, 'M_NOT_FOUND');
      assert.deepEqual(receiptsIn(await sync(alice), roomId), {});
      expectError(await markers(bob, roomId, { 'm.fully_read': 'not-an-event' }), 400, 'M_INVALID_PARAM');
      expectError(await markers(bob, roomId, { 'm.read': 42 }), 400, 'M_BAD_JSON');
      expectError(await markers(carol, roomId, { 'm.fully_read': here }), 403, 'M_FORBIDDEN');
    });
  });

  describe('errors', () => {
    let roomId: string;
    let event: string;
    let reply: string;
    let root: string;
    before(async () => {
      roomId = await room(bob);
      root = await send(server, alice, roomId, text('root'));
      reply = await send(server, alice, roomId, inThread(root, 'reply'));
      event = await send(server, alice, roomId, text('plain'));
    });

    it('refuses unknown receipt types and bad thread IDs with M_INVALID_PARAM', async () => {
      expectError(await receipt(bob, roomId, 'm.seen', event), 400, 'M_INVALID_PARAM');
      for (const thread_id of ['', 42, null, 'elsewhere', ['main']]) expectError(await receipt(bob, roomId, 'm.read', event, { thread_id }), 400, 'M_INVALID_PARAM');
      expectError(await receipt(bob, roomId, 'm.read', reply, { thread_id: 'main' }), 400, 'M_INVALID_PARAM');
      expectError(await receipt(bob, roomId, 'm.read', event, { thread_id: root }), 400, 'M_INVALID_PARAM');
    });

    it('needs the requester joined, and the event in the room', async () => {
      expectError(await receipt(carol, roomId, 'm.read', event), 403, 'M_FORBIDDEN');
      expectError(await receipt(bob, roomId, 'm.read', '$unknown'), 404, 'M_NOT_FOUND');
      const elsewhere = await send(server, alice, await room(bob), text('elsewhere'));
      expectError(await receipt(bob, roomId, 'm.read', elsewhere), 404, 'M_NOT_FOUND');
      expectError(await receipt(bob, '!unknown:localhost', 'm.read', event), 404, 'M_NOT_FOUND');
      expectError(await receipt(bob, 'not-a-room', 'm.read', event), 400, 'M_INVALID_PARAM');
      expectError(await receipt(bob, roomId, 'm.read', 'not-an-event'), 400, 'M_INVALID_PARAM');
      assert.deepEqual(receiptsIn(await sync(alice), roomId), {}, 'nothing was written');
    });

    it('needs a token and a JSON object body', async () => {
      expectError(await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(event)}`), { body: {} }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(event)}`), { token: 'nope', body: {} }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(event)}`), { token: bob.accessToken, rawBody: '{"thread_id":' }), 400, 'M_NOT_JSON');
      expectError(await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(event)}`), { token: bob.accessToken, body: ['main'] }), 400, 'M_BAD_JSON');
      expectError(await server.request('POST', roomPath(roomId, '/read_markers'), { body: {} }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('POST', roomPath(roomId, '/read_markers'), { token: bob.accessToken, rawBody: 'nope' }), 400, 'M_NOT_JSON');
    });
  });
});

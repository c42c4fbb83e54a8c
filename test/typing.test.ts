import assert from 'node:assert/strict';
import { parseSyncToken, formatSyncToken } from '../server/sync/token';
import { createRoom, enc, join, roomPath } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('typing notifications', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;

  const typingPath = (room: string, userId: string) => roomPath(room, `/typing/${enc(userId)}`);
  const setTyping = (user: TestUser, body: unknown, room = roomId) => server.request('PUT', typingPath(room, user.userId), { token: user.accessToken, body });

  async function sync(user: TestUser, params: Record<string, string | number> = {}): Promise<any> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    const res = await server.request('GET', `${V3}/sync?${query}`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** The m.typing events of a room in a sync response. */
  const typingEvents = (body: any, room = roomId): any[] =>
    (body.rooms?.join?.[room]?.ephemeral?.events ?? []).filter((e: any) => e.type === 'm.typing');

  /** The single m.typing event's user IDs, sorted; fails unless there is exactly one. */
  function typingUsers(body: any, room = roomId): string[] {
    const events = typingEvents(body, room);
    assert.equal(events.length, 1, `expected one m.typing event, got ${JSON.stringify(body.rooms)}`);
    return [...events[0].content.user_ids].sort();
  }

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
  });
  after(() => server.stop());

  afterEach(async () => {
    for (const user of [alice, bob]) await setTyping(user, { typing: false });
  });

  it("reaches another member's /sync, and stopping clears it", async () => {
    const { next_batch: since } = await sync(alice);
    const set = await setTyping(bob, { typing: true, timeout: 30000 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, {});

    const typing = await sync(alice, { since });
    assert.deepEqual(typingUsers(typing), [bob.userId]);
    assert.deepEqual(Object.keys(typingEvents(typing)[0]).sort(), ['content', 'type']);

    await setTyping(bob, { typing: false });
    const stopped = await sync(alice, { since: typing.next_batch });
    assert.deepEqual(typingUsers(stopped), []);
  });

  it('lists everyone typing, and sends nothing when nothing changed', async () => {
    await setTyping(alice, { typing: true });
    await setTyping(bob, { typing: true, timeout: 10000 });
    const initial = await sync(alice);
    assert.deepEqual(typingUsers(initial), [alice.userId, bob.userId].sort());

    // Typing again only extends the timeout: the set is unchanged, so nothing is new.
    await setTyping(bob, { typing: true, timeout: 20000 });
    const again = await sync(alice, { since: initial.next_batch });
    assert.deepEqual(typingEvents(again), []);
    assert.equal(parseSyncToken(again.next_batch).typing, parseSyncToken(initial.next_batch).typing);
  });

  it('shows an initial sync only the rooms where someone types', async () => {
    const quiet = await createRoom(server, alice);
    await setTyping(bob, { typing: true });
    const initial = await sync(alice);
    assert.deepEqual(typingUsers(initial), [bob.userId]);
    assert.deepEqual(typingEvents(initial, quiet), []);
  });

  it('expires on its own and wakes a waiting /sync', async () => {
    const { next_batch: since } = await sync(alice);
    await setTyping(bob, { typing: true, timeout: 300 });
    const typing = await sync(alice, { since });
    assert.deepEqual(typingUsers(typing), [bob.userId]);

    // Nothing else happens: only the expiry can answer this long-poll before its timeout.
    const expired = await sync(alice, { since: typing.next_batch, timeout: 10000 });
    assert.deepEqual(typingUsers(expired), []);
  });

  it('stops when the typist leaves the room', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, carol, room);
    await setTyping(carol, { typing: true }, room);
    const { next_batch: since } = await sync(alice);
    assert.equal((await server.request('POST', roomPath(room, '/leave'), { token: carol.accessToken, body: {} })).status, 200);
    const after = await sync(alice, { since });
    assert.deepEqual(typingUsers(after, room), []);
  });

  it('is not sent to users outside the room', async () => {
    await setTyping(bob, { typing: true });
    assert.equal((await sync(carol)).rooms?.join?.[roomId], undefined);
  });

  it("honours the filter's room.ephemeral part", async () => {
    await setTyping(bob, { typing: true });
    const notTyping = JSON.stringify({ room: { ephemeral: { not_types: ['m.typing'] } } });
    assert.deepEqual(typingEvents(await sync(alice, { filter: notTyping })), []);
    const otherRoomsOnly = JSON.stringify({ room: { ephemeral: { not_rooms: [roomId] } } });
    assert.deepEqual(typingEvents(await sync(alice, { filter: otherRoomsOnly })), []);
    const typingOnly = JSON.stringify({ room: { ephemeral: { types: ['m.typing'] } } });
    assert.deepEqual(typingUsers(await sync(alice, { filter: typingOnly })), [bob.userId]);
  });

  it('gives a token from an earlier run the current typing of every joined room', async () => {
    const quiet = await createRoom(server, alice);
    await setTyping(bob, { typing: true });
    const { next_batch } = await sync(alice);
    const stale = formatSyncToken({ ...parseSyncToken(next_batch), typing: 1 });
    const body = await sync(alice, { since: stale });
    assert.deepEqual(typingUsers(body), [bob.userId]);
    assert.deepEqual(typingUsers(body, quiet), []);
  });

  describe('errors', () => {
    it("refuses to set another user's typing with 403 M_FORBIDDEN", async () => {
      const res = await server.request('PUT', typingPath(roomId, bob.userId), { token: alice.accessToken, body: { typing: true } });
      expectError(res, 403, 'M_FORBIDDEN');
      assert.deepEqual(typingEvents(await sync(alice)), []);
    });

    it('refuses a user who is not joined, or a room that does not exist, with 403 M_FORBIDDEN', async () => {
      expectError(await setTyping(carol, { typing: true }), 403, 'M_FORBIDDEN');
      expectError(await setTyping(carol, { typing: true }, '!nowhere:localhost'), 403, 'M_FORBIDDEN');
      assert.deepEqual(typingEvents(await sync(alice)), []);
    });

    it('rejects an invalid room ID with 400 M_INVALID_PARAM', async () => {
      expectError(await setTyping(alice, { typing: true }, '#alias:localhost'), 400, 'M_INVALID_PARAM');
    });

    it('validates the body', async () => {
      expectError(await setTyping(alice, {}), 400, 'M_MISSING_PARAM');
      expectError(await setTyping(alice, { typing: 'yes' }), 400, 'M_BAD_JSON');
      expectError(await setTyping(alice, { typing: true, timeout: '30000' }), 400, 'M_BAD_JSON');
      expectError(await setTyping(alice, { typing: true, timeout: 1.5 }), 400, 'M_BAD_JSON');
      expectError(await setTyping(alice, { typing: true, timeout: -1 }), 400, 'M_INVALID_PARAM');
      expectError(await setTyping(alice, [true]), 400, 'M_BAD_JSON');
      const malformed = await server.request('PUT', typingPath(roomId, alice.userId), { token: alice.accessToken, rawBody: '{"typing": tru' });
      expectError(malformed, 400, 'M_NOT_JSON');
      assert.deepEqual(typingEvents(await sync(bob)), []);
    });

    it('needs a valid access token', async () => {
      expectError(await server.request('PUT', typingPath(roomId, alice.userId), { body: { typing: true } }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('PUT', typingPath(roomId, alice.userId), { token: 'nope', body: { typing: true } }), 401, 'M_UNKNOWN_TOKEN');
    });
  });
});

import assert from 'node:assert/strict';
import { createRoom, enc } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const tagsPath = (userId: string, roomId: string) => `${V3}/user/${enc(userId)}/rooms/${enc(roomId)}/tags`;
const tagPath = (userId: string, roomId: string, tag: string) => `${tagsPath(userId, roomId)}/${enc(tag)}`;

describe('room tags', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    roomId = await createRoom(server, alice);
  });
  after(() => server.stop());

  async function tags(user: TestUser, room = roomId): Promise<Record<string, unknown>> {
    const res = await server.request('GET', tagsPath(user.userId, room), { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.tags;
  }

  async function putTag(user: TestUser, tag: string, body: unknown, room = roomId): Promise<void> {
    const res = await server.request('PUT', tagPath(user.userId, room, tag), { token: user.accessToken, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
  }

  async function deleteTag(user: TestUser, tag: string, room = roomId): Promise<void> {
    const res = await server.request('DELETE', tagPath(user.userId, room, tag), { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
  }

  async function sync(user: TestUser, params: Record<string, string | number> = {}): Promise<any> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    const res = await server.request('GET', `${V3}/sync?${query}`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  const tagEvents = (body: any, room = roomId): any[] =>
    (body.rooms?.join?.[room]?.account_data?.events ?? []).filter((e: any) => e.type === 'm.tag');

  it('answers an empty set for a room without tags', async () => {
    assert.deepEqual(await tags(alice, await createRoom(server, alice)), {});
  });

  it('adds, replaces and removes tags', async () => {
    await putTag(alice, 'm.favourite', { order: 0.25 });
    await putTag(alice, 'u.Work', {});
    assert.deepEqual(await tags(alice), { 'm.favourite': { order: 0.25 }, 'u.Work': {} });

    await putTag(alice, 'm.favourite', { order: 0.5 });
    await deleteTag(alice, 'u.Work');
    assert.deepEqual(await tags(alice), { 'm.favourite': { order: 0.5 } });

    // Removing a tag the room does not have changes nothing.
    await deleteTag(alice, 'u.Never');
    await deleteTag(alice, 'm.favourite');
    assert.deepEqual(await tags(alice), {});
  });

  it('keeps every tag added at the same time', async () => {
    const room = await createRoom(server, alice);
    const names = Array.from({ length: 10 }, (_, i) => `u.tag${i}`);
    await Promise.all(names.map((name, i) => putTag(alice, name, { order: i / 10 }, room)));
    // Straight to the service too, where every read would otherwise come before any write.
    const more = Array.from({ length: 10 }, (_, i) => `u.more${i}`);
    await Promise.all(more.map((name) => server.hs.services.tags.add(alice.userId, room, name, {})));
    assert.deepEqual(Object.keys(await tags(alice, room)).sort(), [...names, ...more].sort());
  });

  it('keeps tags per user and per room', async () => {
    const other = await createRoom(server, alice);
    await putTag(alice, 'u.here', {});
    assert.deepEqual(await tags(alice, other), {});
    assert.deepEqual(await tags(bob), {});
    await deleteTag(alice, 'u.here');
  });

  it('stores them as the room\'s m.tag account data, sent in /sync and waking it', async () => {
    await putTag(alice, 'm.lowpriority', { order: 1 });
    const initial = await sync(alice);
    assert.deepEqual(tagEvents(initial), [{ type: 'm.tag', content: { tags: { 'm.lowpriority': { order: 1 } } } }]);

    const waiting = server.hs.services.notifier.waiters;
    const poll = sync(alice, { since: initial.next_batch, timeout: 10000 });
    while (server.hs.services.notifier.waiters <= waiting) await new Promise((resolve) => setTimeout(resolve, 10));
    await deleteTag(alice, 'm.lowpriority');
    assert.deepEqual(tagEvents(await poll), [{ type: 'm.tag', content: { tags: {} } }]);

    const stored = await server.request('GET', `${V3}/user/${enc(alice.userId)}/rooms/${enc(roomId)}/account_data/m.tag`, { token: alice.accessToken });
    assert.deepEqual(stored.body, { tags: {} });
  });

  describe('errors', () => {
    it("refuses another user's tags with 403 M_FORBIDDEN, changing nothing", async () => {
      await putTag(alice, 'u.mine', {});
      expectError(await server.request('GET', tagsPath(alice.userId, roomId), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
      expectError(await server.request('PUT', tagPath(alice.userId, roomId, 'u.evil'), { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN');
      expectError(await server.request('DELETE', tagPath(alice.userId, roomId, 'u.mine'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
      assert.deepEqual(await tags(alice), { 'u.mine': {} });
      await deleteTag(alice, 'u.mine');
    });

    it('rejects a tag name over 255 bytes with 400', async () => {
      const long = `u.${'é'.repeat(127)}`; // 2 + 254 bytes
      expectError(await server.request('PUT', tagPath(alice.userId, roomId, long), { token: alice.accessToken, body: {} }), 400, 'M_INVALID_PARAM');
      expectError(await server.request('DELETE', tagPath(alice.userId, roomId, long), { token: alice.accessToken }), 400, 'M_INVALID_PARAM');
      await putTag(alice, `u.${'é'.repeat(126)}x`, {});
      assert.equal(Object.keys(await tags(alice)).length, 1);
      await deleteTag(alice, `u.${'é'.repeat(126)}x`);
    });

    it('validates the body', async () => {
      const put = (options: { body?: unknown; rawBody?: string }) => server.request('PUT', tagPath(alice.userId, roomId, 'u.bad'), { token: alice.accessToken, ...options });
      expectError(await put({ body: { order: 'first' } }), 400, 'M_BAD_JSON');
      expectError(await put({ body: [0.5] }), 400, 'M_BAD_JSON');
      expectError(await put({ rawBody: '{"order": ' }), 400, 'M_NOT_JSON');
      assert.deepEqual(await tags(alice), {});
    });

    it('rejects an invalid room ID with 400 M_INVALID_PARAM', async () => {
      expectError(await server.request('GET', tagsPath(alice.userId, '#alias:localhost'), { token: alice.accessToken }), 400, 'M_INVALID_PARAM');
      expectError(await server.request('PUT', tagPath(alice.userId, 'nonsense', 'u.x'), { token: alice.accessToken, body: {} }), 400, 'M_INVALID_PARAM');
    });

    it('needs a valid access token', async () => {
      expectError(await server.request('GET', tagsPath(alice.userId, roomId)), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('PUT', tagPath(alice.userId, roomId, 'u.x'), { token: 'nope', body: {} }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('DELETE', tagPath(alice.userId, roomId, 'u.x'), { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
    });
  });
});

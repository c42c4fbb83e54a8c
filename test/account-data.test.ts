import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const ROOM = '!room1:localhost';
const globalPath = (userId: string, type: string) => `${V3}/user/${encodeURIComponent(userId)}/account_data/${encodeURIComponent(type)}`;
const roomPath = (userId: string, roomId: string, type: string) =>
  `${V3}/user/${encodeURIComponent(userId)}/rooms/${encodeURIComponent(roomId)}/account_data/${encodeURIComponent(type)}`;

describe('account data', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const both = [
    { name: 'global', path: (userId: string, type: string) => globalPath(userId, type) },
    { name: 'room', path: (userId: string, type: string) => roomPath(userId, ROOM, type) },
  ];

  for (const scope of both) {
    describe(`${scope.name}`, () => {
      it('round-trips content', async () => {
        const content = { custom_account_data_key: 'custom_config_value', nested: { list: [1, 2, 3] } };
        const set = await server.request('PUT', scope.path(alice.userId, 'org.example.config'), { token: alice.accessToken, body: content });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        assert.deepEqual(set.body, {});
        const got = await server.request('GET', scope.path(alice.userId, 'org.example.config'), { token: alice.accessToken });
        assert.equal(got.status, 200);
        assert.deepEqual(got.body, content);
      });

      it('replaces content on a second PUT', async () => {
        const type = 'org.example.replace';
        await server.request('PUT', scope.path(alice.userId, type), { token: alice.accessToken, body: { a: 1, b: 2 } });
        await server.request('PUT', scope.path(alice.userId, type), { token: alice.accessToken, body: { c: 3 } });
        const got = await server.request('GET', scope.path(alice.userId, type), { token: alice.accessToken });
        assert.deepEqual(got.body, { c: 3 });
      });

      it('answers 404 M_NOT_FOUND for an unset type', async () => {
        expectError(await server.request('GET', scope.path(alice.userId, 'org.example.unset'), { token: alice.accessToken }), 404, 'M_NOT_FOUND');
      });

      it('needs an access token', async () => {
        expectError(await server.request('GET', scope.path(alice.userId, 'org.example.config')), 401, 'M_MISSING_TOKEN');
        expectError(await server.request('PUT', scope.path(alice.userId, 'org.example.config'), { body: {} }), 401, 'M_MISSING_TOKEN');
      });

      it('rejects an unknown access token', async () => {
        expectError(await server.request('GET', scope.path(alice.userId, 'org.example.config'), { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
        expectError(await server.request('PUT', scope.path(alice.userId, 'org.example.config'), { token: 'nope', body: {} }), 401, 'M_UNKNOWN_TOKEN');
      });

      it("refuses another user's account data", async () => {
        expectError(await server.request('GET', scope.path(alice.userId, 'org.example.config'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
        const put = await server.request('PUT', scope.path(alice.userId, 'org.example.config'), { token: bob.accessToken, body: { evil: true } });
        expectError(put, 403, 'M_FORBIDDEN');
        const got = await server.request('GET', scope.path(alice.userId, 'org.example.config'), { token: alice.accessToken });
        assert.equal(got.body.evil, undefined);
      });

      for (const type of ['m.fully_read', 'm.push_rules']) {
        it(`refuses to set ${type} with 405 M_BAD_JSON`, async () => {
          expectError(await server.request('PUT', scope.path(alice.userId, type), { token: alice.accessToken, body: { event_id: '$x' } }), 405, 'M_BAD_JSON');
          const got = await server.request('GET', scope.path(alice.userId, type), { token: alice.accessToken });
          // The push module serves the global m.push_rules (the user's ruleset); the refused PUT left nothing.
          if (type === 'm.push_rules' && scope.name === 'global') assert.deepEqual(Object.keys(got.body), ['global']);
          else expectError(got, 404, 'M_NOT_FOUND');
        });
      }

      it('requires a JSON object body', async () => {
        expectError(await server.request('PUT', scope.path(alice.userId, 'org.example.x'), { token: alice.accessToken, body: [1, 2] }), 400, 'M_BAD_JSON');
        expectError(await server.request('PUT', scope.path(alice.userId, 'org.example.x'), { token: alice.accessToken, body: 'text' }), 400, 'M_BAD_JSON');
        expectError(await server.request('PUT', scope.path(alice.userId, 'org.example.x'), { token: alice.accessToken, rawBody: '{"a":' }), 400, 'M_NOT_JSON');
      });

      it('rejects a type over 255 bytes', async () => {
        const type = `org.example.${'t'.repeat(250)}`;
        expectError(await server.request('PUT', scope.path(alice.userId, type), { token: alice.accessToken, body: {} }), 400, 'M_INVALID_PARAM');
      });
    });
  }

  it('keeps room and global data apart, without fallback', async () => {
    const type = 'org.example.scoped';
    await server.request('PUT', globalPath(bob.userId, type), { token: bob.accessToken, body: { scope: 'global' } });
    expectError(await server.request('GET', roomPath(bob.userId, ROOM, type), { token: bob.accessToken }), 404, 'M_NOT_FOUND');
    await server.request('PUT', roomPath(bob.userId, ROOM, type), { token: bob.accessToken, body: { scope: 'room' } });
    await server.request('PUT', roomPath(bob.userId, '!other:localhost', type), { token: bob.accessToken, body: { scope: 'other room' } });
    assert.deepEqual((await server.request('GET', globalPath(bob.userId, type), { token: bob.accessToken })).body, { scope: 'global' });
    assert.deepEqual((await server.request('GET', roomPath(bob.userId, ROOM, type), { token: bob.accessToken })).body, { scope: 'room' });
    assert.deepEqual((await server.request('GET', roomPath(bob.userId, '!other:localhost', type), { token: bob.accessToken })).body, { scope: 'other room' });
  });

  it('keeps users apart', async () => {
    await server.request('PUT', globalPath(alice.userId, 'org.example.mine'), { token: alice.accessToken, body: { owner: 'alice' } });
    expectError(await server.request('GET', globalPath(bob.userId, 'org.example.mine'), { token: bob.accessToken }), 404, 'M_NOT_FOUND');
  });

  it('accepts a room ID without a domain (room version 12)', async () => {
    const res = await server.request('PUT', roomPath(alice.userId, '!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM', 'org.example.v12'), { token: alice.accessToken, body: { ok: true } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('rejects an invalid room ID with 400 M_INVALID_PARAM', async () => {
    for (const roomId of ['@notaroomid:localhost', '#alias:localhost', '!']) {
      expectError(await server.request('GET', roomPath(alice.userId, roomId, 'org.example.config'), { token: alice.accessToken }), 400, 'M_INVALID_PARAM');
      expectError(await server.request('PUT', roomPath(alice.userId, roomId, 'org.example.config'), { token: alice.accessToken, body: {} }), 400, 'M_INVALID_PARAM');
    }
  });

  it('lets clients read server-managed types the server has set', async () => {
    const roomId = '!read:localhost';
    await server.hs.services.stores.accountData.put(alice.userId, roomId, 'm.fully_read', { event_id: '$read' });
    const got = await server.request('GET', roomPath(alice.userId, roomId, 'm.fully_read'), { token: alice.accessToken });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, { event_id: '$read' });
  });

  it('refuses guests', async () => {
    const userId = await server.hs.services.accounts.createGuest();
    const { access_token } = await server.hs.services.accounts.startSession(userId, {});
    expectError(await server.request('PUT', globalPath(userId, 'org.example.x'), { token: access_token, body: {} }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
  });

  it('gives each write a higher stream position, for /sync', async () => {
    const store = server.hs.services.stores.accountData;
    const carol = await createUser(server, 'carol');
    const start = await store.positions.latest();
    await server.request('PUT', globalPath(carol.userId, 'org.example.a'), { token: carol.accessToken, body: { v: 1 } });
    await server.request('PUT', roomPath(carol.userId, ROOM, 'org.example.b'), { token: carol.accessToken, body: { v: 2 } });
    await server.request('PUT', globalPath(carol.userId, 'org.example.a'), { token: carol.accessToken, body: { v: 3 } });

    const changes = await store.changesSince(carol.userId, start);
    assert.deepEqual(
      changes.map(({ roomId, type, content }) => ({ roomId, type, content })),
      [
        { roomId: ROOM, type: 'org.example.b', content: { v: 2 } },
        { roomId: null, type: 'org.example.a', content: { v: 3 } },
      ],
    );
    assert.ok(changes[0].streamId > start && changes[1].streamId > changes[0].streamId);
    assert.equal(await store.positions.latest(), changes[1].streamId);
    assert.deepEqual(await store.changesSince(carol.userId, changes[1].streamId), []);
  });
});

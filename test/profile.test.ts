import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const PROFILE = '/_matrix/client/v3/profile';
const path = (userId: string, key?: string) =>
  `${PROFILE}/${encodeURIComponent(userId)}${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;

describe('profiles', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const put = (user: TestUser, key: string, body: unknown, target = user.userId) =>
    server.request('PUT', path(target, key), { token: user.accessToken, body });

  describe('PUT then GET', () => {
    it('sets displayname, avatar_url, m.tz and a custom field, all readable without a token', async () => {
      const fields: Record<string, unknown> = {
        displayname: 'Alice Margatroid',
        avatar_url: 'mxc://localhost/SDGdghriugerRg',
        'm.tz': 'Europe/London',
        'org.example.job': { title: 'engineer', level: 3 },
      };
      for (const [key, value] of Object.entries(fields)) {
        const res = await put(alice, key, { [key]: value });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, {});
      }
      for (const [key, value] of Object.entries(fields)) {
        const res = await server.request('GET', path(alice.userId, key));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, { [key]: value });
      }
      const all = await server.request('GET', path(alice.userId));
      assert.equal(all.status, 200);
      assert.deepEqual(all.body, fields);
    });

    it('overwrites a field', async () => {
      await put(bob, 'displayname', { displayname: 'Bob' });
      await put(bob, 'displayname', { displayname: 'Robert' });
      const res = await server.request('GET', path(bob.userId, 'displayname'), { token: alice.accessToken });
      assert.deepEqual(res.body, { displayname: 'Robert' });
    });

    it('clears displayname and avatar_url given an empty string', async () => {
      const carol = await createUser(server, 'carol');
      await put(carol, 'displayname', { displayname: 'Carol' });
      await put(carol, 'avatar_url', { avatar_url: 'mxc://localhost/abc' });
      assert.equal((await put(carol, 'displayname', { displayname: '' })).status, 200);
      assert.equal((await put(carol, 'avatar_url', { avatar_url: '' })).status, 200);
      expectError(await server.request('GET', path(carol.userId, 'displayname')), 404, 'M_NOT_FOUND');
      const all = await server.request('GET', path(carol.userId));
      assert.equal(all.body.displayname, undefined);
      assert.equal(all.body.avatar_url, undefined);
    });
  });

  describe('GET', () => {
    it('rejects an unknown access token', async () => {
      expectError(await server.request('GET', path(alice.userId), { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
    });

    it('answers 404 for an unknown local user', async () => {
      expectError(await server.request('GET', path('@nobody:localhost')), 404, 'M_NOT_FOUND');
      expectError(await server.request('GET', path('@nobody:localhost', 'displayname')), 404, 'M_NOT_FOUND');
    });

    it("answers 502 for another server's user when that server cannot be reached (test/federation-joins.test.ts asks one that can)", async () => {
      // Port 1 on loopback: refused at once, no DNS.
      expectError(await server.request('GET', path('@alice:127.0.0.1:1')), 502, 'M_UNKNOWN');
    });

    it('answers 400 for something that is not a user ID', async () => {
      expectError(await server.request('GET', path('alice')), 400, 'M_INVALID_PARAM');
    });

    it('answers 404 for a field that is not set', async () => {
      expectError(await server.request('GET', path(alice.userId, 'org.example.unset')), 404, 'M_NOT_FOUND');
    });

    it('answers 400 for an invalid key name', async () => {
      expectError(await server.request('GET', path(alice.userId, 'Not.Valid')), 400, 'M_INVALID_PARAM');
    });
  });

  describe('PUT errors', () => {
    it('needs an access token', async () => {
      const res = await server.request('PUT', path(alice.userId, 'displayname'), { body: { displayname: 'x' } });
      expectError(res, 401, 'M_MISSING_TOKEN');
    });

    it('rejects an unknown access token', async () => {
      const res = await server.request('PUT', path(alice.userId, 'displayname'), { token: 'nope', body: { displayname: 'x' } });
      expectError(res, 401, 'M_UNKNOWN_TOKEN');
    });

    it("refuses to change another user's profile", async () => {
      expectError(await put(bob, 'displayname', { displayname: 'Mallory' }, alice.userId), 403, 'M_FORBIDDEN');
      const res = await server.request('GET', path(alice.userId, 'displayname'));
      assert.deepEqual(res.body, { displayname: 'Alice Margatroid' });
    });

    it('requires the key named in the URL', async () => {
      expectError(await put(alice, 'displayname', { avatar_url: 'mxc://localhost/abc' }), 400, 'M_MISSING_PARAM');
      expectError(await put(alice, 'displayname', {}), 400, 'M_MISSING_PARAM');
    });

    it('refuses keys besides the one named in the URL', async () => {
      expectError(await put(alice, 'displayname', { displayname: 'A', avatar_url: 'mxc://localhost/abc' }), 400, 'M_BAD_JSON');
    });

    it('checks the type of the well-known fields', async () => {
      expectError(await put(alice, 'displayname', { displayname: 42 }), 400, 'M_BAD_JSON');
      expectError(await put(alice, 'avatar_url', { avatar_url: ['mxc://localhost/abc'] }), 400, 'M_BAD_JSON');
      expectError(await put(alice, 'm.tz', { 'm.tz': { zone: 'UTC' } }), 400, 'M_BAD_JSON');
    });

    it('refuses null values', async () => {
      expectError(await put(alice, 'displayname', { displayname: null }), 400, 'M_BAD_JSON');
      expectError(await put(alice, 'org.example.thing', { 'org.example.thing': null }), 400, 'M_BAD_JSON');
    });

    it('requires avatar_url to be an mxc URI', async () => {
      expectError(await put(alice, 'avatar_url', { avatar_url: 'https://example.com/a.png' }), 400, 'M_INVALID_PARAM');
      expectError(await put(alice, 'avatar_url', { avatar_url: 'mxc://localhost/bad/id' }), 400, 'M_INVALID_PARAM');
    });

    it('rejects an over-long displayname', async () => {
      expectError(await put(alice, 'displayname', { displayname: 'a'.repeat(257) }), 400, 'M_INVALID_PARAM');
    });

    it('rejects key names outside the Common Namespaced Identifier Grammar', async () => {
      expectError(await put(alice, 'Bad.Key', { 'Bad.Key': 1 }), 400, 'M_INVALID_PARAM');
      expectError(await put(alice, '1abc', { '1abc': 1 }), 400, 'M_INVALID_PARAM');
    });

    it('rejects key names over 255 bytes with M_KEY_TOO_LARGE', async () => {
      const key = `org.example.${'k'.repeat(250)}`;
      expectError(await put(alice, key, { [key]: 1 }), 400, 'M_KEY_TOO_LARGE');
    });

    it('keeps the profile under 64 KiB with M_PROFILE_TOO_LARGE', async () => {
      const dave = await createUser(server, 'dave');
      expectError(await put(dave, 'org.example.huge', { 'org.example.huge': 'x'.repeat(64 * 1024) }), 400, 'M_PROFILE_TOO_LARGE');
      const half = 'y'.repeat(40 * 1024);
      assert.equal((await put(dave, 'org.example.one', { 'org.example.one': half })).status, 200);
      expectError(await put(dave, 'org.example.two', { 'org.example.two': half }), 400, 'M_PROFILE_TOO_LARGE');
      expectError(await server.request('GET', path(dave.userId, 'org.example.two')), 404, 'M_NOT_FOUND');
      // Replacing a field counts the new value instead of the old one.
      assert.equal((await put(dave, 'org.example.one', { 'org.example.one': half + 'z' })).status, 200);
    });
  });

  describe('DELETE', () => {
    it('removes a field', async () => {
      await put(bob, 'm.tz', { 'm.tz': 'Europe/Paris' });
      const res = await server.request('DELETE', path(bob.userId, 'm.tz'), { token: bob.accessToken });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {});
      expectError(await server.request('GET', path(bob.userId, 'm.tz')), 404, 'M_NOT_FOUND');
      assert.equal((await server.request('GET', path(bob.userId))).body['m.tz'], undefined);
    });

    it('succeeds for a field that is not set', async () => {
      const res = await server.request('DELETE', path(bob.userId, 'org.example.never'), { token: bob.accessToken });
      assert.equal(res.status, 200);
    });

    it('needs a valid access token', async () => {
      expectError(await server.request('DELETE', path(bob.userId, 'displayname')), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('DELETE', path(bob.userId, 'displayname'), { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
    });

    it("refuses to delete another user's field", async () => {
      expectError(await server.request('DELETE', path(alice.userId, 'displayname'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
      assert.deepEqual((await server.request('GET', path(alice.userId, 'displayname'))).body, { displayname: 'Alice Margatroid' });
    });

    it('rejects an invalid key name', async () => {
      expectError(await server.request('DELETE', path(bob.userId, 'NOPE'), { token: bob.accessToken }), 400, 'M_INVALID_PARAM');
    });
  });

  describe('guests', () => {
    let guest: { userId: string; accessToken: string };
    before(async () => {
      const userId = await server.hs.services.accounts.createGuest();
      const session = await server.hs.services.accounts.startSession(userId, {});
      guest = { userId, accessToken: session.access_token };
    });

    it('may set and delete their displayname', async () => {
      const set = await server.request('PUT', path(guest.userId, 'displayname'), { token: guest.accessToken, body: { displayname: 'Visitor' } });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual((await server.request('GET', path(guest.userId, 'displayname'), { token: guest.accessToken })).body, { displayname: 'Visitor' });
      const del = await server.request('DELETE', path(guest.userId, 'displayname'), { token: guest.accessToken });
      assert.equal(del.status, 200);
    });

    it('may not set other fields', async () => {
      const res = await server.request('PUT', path(guest.userId, 'avatar_url'), { token: guest.accessToken, body: { avatar_url: 'mxc://localhost/abc' } });
      expectError(res, 403, 'M_GUEST_ACCESS_FORBIDDEN');
      expectError(await server.request('DELETE', path(guest.userId, 'm.tz'), { token: guest.accessToken }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
    });
  });
});

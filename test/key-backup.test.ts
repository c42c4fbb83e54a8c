/** Server-side key backups: /room_keys/version and /room_keys/keys. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const ROOM = '!room:localhost';
const OTHER_ROOM = '!other:localhost';
const enc = encodeURIComponent;

const authData = (publicKey = 'abcdefg') => ({ public_key: publicKey, signatures: { '@alice:localhost': { 'ed25519:DEV': 'sig' } } });

/** Key data for a session; `marker` tells copies apart. */
const key = (marker: string, rank: { is_verified?: boolean; first_message_index?: number; forwarded_count?: number } = {}) => ({
  first_message_index: rank.first_message_index ?? 1,
  forwarded_count: rank.forwarded_count ?? 0,
  is_verified: rank.is_verified ?? false,
  session_data: { ephemeral: 'eph', ciphertext: marker, mac: 'mac' },
});

describe('key backup', () => {
  let server: TestServer;

  const request = (user: TestUser, method: string, path: string, body?: unknown) =>
    server.request(method, `${V3}/room_keys${path}`, { token: user.accessToken, body });
  const createVersion = async (user: TestUser, data = authData()) => {
    const res = await request(user, 'POST', '/version', { algorithm: ALGORITHM, auth_data: data });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.version as string;
  };
  const sessionPath = (version: string, roomId = ROOM, sessionId = 'session1') => `/keys/${enc(roomId)}/${enc(sessionId)}?version=${version}`;
  const putKey = (user: TestUser, version: string, data: unknown, sessionId = 'session1') => request(user, 'PUT', sessionPath(version, ROOM, sessionId), data);
  const getKey = async (user: TestUser, version: string, sessionId = 'session1') => {
    const res = await request(user, 'GET', sessionPath(version, ROOM, sessionId));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const info = async (user: TestUser) => {
    const res = await request(user, 'GET', '/version');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  describe('versions', () => {
    it('has no current version before one is created: 404 M_NOT_FOUND', async () => {
      const user = await createUser(server, 'fresh');
      expectError(await request(user, 'GET', '/version'), 404, 'M_NOT_FOUND');
      expectError(await request(user, 'GET', '/version/1'), 404, 'M_NOT_FOUND');
    });

    it('creates numbered versions; the latest is current, and older ones stay readable', async () => {
      const user = await createUser(server, 'versions');
      assert.equal(await createVersion(user), '1');
      const first = await info(user);
      assert.deepEqual(first, { algorithm: ALGORITHM, auth_data: authData(), count: 0, etag: first.etag, version: '1' });
      assert.equal(typeof first.etag, 'string');
      assert.equal(await createVersion(user, authData('second')), '2');
      assert.equal((await info(user)).version, '2');
      const old = await request(user, 'GET', '/version/1');
      assert.equal(old.status, 200);
      assert.deepEqual(old.body.auth_data, authData());
      expectError(await request(user, 'GET', '/version/3'), 404, 'M_NOT_FOUND');
      expectError(await request(user, 'GET', '/version/notanumber'), 404, 'M_NOT_FOUND');
    });

    it("keeps users' backups apart", async () => {
      const owner = await createUser(server, 'owner');
      const other = await createUser(server, 'other');
      await createVersion(owner);
      expectError(await request(other, 'GET', '/version'), 404, 'M_NOT_FOUND');
      expectError(await request(other, 'GET', '/version/1'), 404, 'M_NOT_FOUND');
      expectError(await putKey(other, '1', key('x')), 404, 'M_NOT_FOUND');
      expectError(await request(other, 'DELETE', '/version/1'), 404, 'M_NOT_FOUND');
      assert.equal((await info(owner)).version, '1');
    });

    it('updates auth_data, but not the algorithm or under another version number', async () => {
      const user = await createUser(server, 'updater');
      const version = await createVersion(user);
      const updated = await request(user, 'PUT', `/version/${version}`, { algorithm: ALGORITHM, auth_data: authData('new'), version });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.deepEqual(updated.body, {});
      assert.deepEqual((await info(user)).auth_data, authData('new'));
      expectError(await request(user, 'PUT', `/version/${version}`, { algorithm: ALGORITHM, auth_data: {}, version: '7' }), 400, 'M_INVALID_PARAM');
      expectError(await request(user, 'PUT', `/version/${version}`, { algorithm: 'm.other', auth_data: {} }), 400, 'M_INVALID_PARAM');
      expectError(await request(user, 'PUT', '/version/99', { algorithm: ALGORITHM, auth_data: {} }), 404, 'M_NOT_FOUND');
      assert.deepEqual((await info(user)).auth_data, authData('new'));
    });

    it('deletes a version with its keys; deleting it again succeeds, an unknown one is 404', async () => {
      const user = await createUser(server, 'deleter');
      await createVersion(user);
      const second = await createVersion(user);
      assert.equal((await putKey(user, second, key('k'))).status, 200);
      const deleted = await request(user, 'DELETE', `/version/${second}`);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      expectError(await request(user, 'GET', `/version/${second}`), 404, 'M_NOT_FOUND');
      expectError(await request(user, 'GET', sessionPath(second)), 404, 'M_NOT_FOUND');
      assert.equal((await request(user, 'DELETE', `/version/${second}`)).status, 200);
      expectError(await request(user, 'DELETE', '/version/42'), 404, 'M_NOT_FOUND');
      // The previous version is current again; a new one never reuses a deleted number.
      assert.equal((await info(user)).version, '1');
      assert.equal(await createVersion(user), '3');
    });

    it('refuses malformed bodies and missing tokens', async () => {
      const user = await createUser(server, 'malformed');
      expectError(await request(user, 'POST', '/version', { auth_data: {} }), 400, 'M_MISSING_PARAM');
      expectError(await request(user, 'POST', '/version', { algorithm: ALGORITHM }), 400, 'M_MISSING_PARAM');
      expectError(await request(user, 'POST', '/version', { algorithm: ALGORITHM, auth_data: 'x' }), 400, 'M_BAD_JSON');
      expectError(await request(user, 'POST', '/version', { algorithm: 'm.unknown', auth_data: {} }), 400, 'M_INVALID_PARAM');
      expectError(await server.request('POST', `${V3}/room_keys/version`, { token: user.accessToken, rawBody: '{"algorithm"' }), 400, 'M_NOT_JSON');
      expectError(await server.request('POST', `${V3}/room_keys/version`, { body: { algorithm: ALGORITHM, auth_data: {} } }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', `${V3}/room_keys/version`), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', `${V3}/room_keys/keys?version=1`, { token: 'bad' }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await request(user, 'GET', '/version'), 404, 'M_NOT_FOUND');
    });
  });

  describe('keys', () => {
    let alice: TestUser;
    let version: string;
    before(async () => {
      alice = await createUser(server, 'alice');
      version = await createVersion(alice);
    });

    it('stores a key, counting it and moving the etag', async () => {
      const before = await info(alice);
      const res = await putKey(alice, version, key('first'));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.count, 1);
      assert.notEqual(res.body.etag, before.etag);
      assert.deepEqual(await getKey(alice, version), key('first'));
      const now = await info(alice);
      assert.equal(now.count, 1);
      assert.equal(now.etag, res.body.etag);
    });

    it('keeps the better of two keys for one session, as the spec ranks them', async () => {
      const session = 'ranked';
      const put = async (marker: string, rank: Parameters<typeof key>[1]) => (await putKey(alice, version, key(marker, rank), session)).body;
      await put('base', { first_message_index: 5, forwarded_count: 2 });
      const kept = (await info(alice)).etag;

      const worse = await put('later index', { first_message_index: 6, forwarded_count: 0 });
      assert.equal((await getKey(alice, version, session)).session_data.ciphertext, 'base');
      assert.equal(worse.etag, kept, 'an unchanged backup keeps its etag');
      await put('more forwarded', { first_message_index: 5, forwarded_count: 3 });
      await put('tie', { first_message_index: 5, forwarded_count: 2 });
      assert.equal((await getKey(alice, version, session)).session_data.ciphertext, 'base');

      const fewer = await put('fewer forwards', { first_message_index: 5, forwarded_count: 1 });
      assert.equal((await getKey(alice, version, session)).session_data.ciphertext, 'fewer forwards');
      assert.notEqual(fewer.etag, kept);
      await put('earlier index', { first_message_index: 2, forwarded_count: 9 });
      assert.equal((await getKey(alice, version, session)).session_data.ciphertext, 'earlier index');
      await put('verified', { is_verified: true, first_message_index: 100, forwarded_count: 100 });
      assert.equal((await getKey(alice, version, session)).session_data.ciphertext, 'verified');
      await put('unverified but earlier', { is_verified: false, first_message_index: 0, forwarded_count: 0 });
      assert.equal((await getKey(alice, version, session)).session_data.ciphertext, 'verified');
      const final = await put('verified and earlier', { is_verified: true, first_message_index: 0 });
      assert.deepEqual(await getKey(alice, version, session), key('verified and earlier', { is_verified: true, first_message_index: 0 }));
      assert.equal(final.count, (await info(alice)).count);
    });

    it('stores and reads the keys of a room and of every room', async () => {
      const bob = await createUser(server, 'bob');
      const v = await createVersion(bob);
      const room = await request(bob, 'PUT', `/keys/${enc(ROOM)}?version=${v}`, { sessions: { a: key('a'), b: key('b') } });
      assert.equal(room.status, 200, JSON.stringify(room.body));
      assert.equal(room.body.count, 2);
      const all = await request(bob, 'PUT', `/keys?version=${v}`, { rooms: { [OTHER_ROOM]: { sessions: { c: key('c') } }, [ROOM]: { sessions: { a: key('a2', { first_message_index: 0 }) } } } });
      assert.equal(all.body.count, 3);

      const roomKeys = await request(bob, 'GET', `/keys/${enc(ROOM)}?version=${v}`);
      assert.deepEqual(roomKeys.body, { sessions: { a: key('a2', { first_message_index: 0 }), b: key('b') } });
      const everything = await request(bob, 'GET', `/keys?version=${v}`);
      assert.deepEqual(everything.body, {
        rooms: { [ROOM]: { sessions: { a: key('a2', { first_message_index: 0 }), b: key('b') } }, [OTHER_ROOM]: { sessions: { c: key('c') } } },
      });
      assert.deepEqual((await request(bob, 'GET', `/keys/${enc('!empty:localhost')}?version=${v}`)).body, { sessions: {} });
      expectError(await request(bob, 'GET', sessionPath(v, ROOM, 'nosuch')), 404, 'M_NOT_FOUND');
    });

    it('deletes one key, a room\'s keys, or all keys, moving the etag', async () => {
      const carol = await createUser(server, 'carol');
      const v = await createVersion(carol);
      await request(carol, 'PUT', `/keys?version=${v}`, {
        rooms: { [ROOM]: { sessions: { a: key('a'), b: key('b') } }, [OTHER_ROOM]: { sessions: { c: key('c'), d: key('d') } } },
      });
      const start = await info(carol);
      const one = await request(carol, 'DELETE', sessionPath(v, ROOM, 'a'));
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.equal(one.body.count, 3);
      assert.notEqual(one.body.etag, start.etag);
      const room = await request(carol, 'DELETE', `/keys/${enc(OTHER_ROOM)}?version=${v}`);
      assert.equal(room.body.count, 1);
      const all = await request(carol, 'DELETE', `/keys?version=${v}`);
      assert.equal(all.body.count, 0);
      assert.deepEqual((await request(carol, 'GET', `/keys?version=${v}`)).body, { rooms: {} });
      const nothing = await request(carol, 'DELETE', `/keys?version=${v}`);
      assert.deepEqual(nothing.body, all.body);
      expectError(await request(carol, 'DELETE', `/keys?version=99`), 404, 'M_NOT_FOUND');
    });

    it('writes only to the current version: 403 M_WRONG_ROOM_KEYS_VERSION with current_version', async () => {
      const dave = await createUser(server, 'dave');
      const first = await createVersion(dave);
      assert.equal((await putKey(dave, first, key('old'))).status, 200);
      const second = await createVersion(dave);
      const res = await putKey(dave, first, key('stale'));
      expectError(res, 403, 'M_WRONG_ROOM_KEYS_VERSION');
      assert.equal(res.body.current_version, second);
      expectError(await putKey(dave, '77', key('x')), 403, 'M_WRONG_ROOM_KEYS_VERSION');
      // The old version is still readable, and unchanged.
      assert.equal((await getKey(dave, first)).session_data.ciphertext, 'old');
      assert.equal((await info(dave)).count, 0);
    });

    it('refuses requests without a version, with bad keys or bad room IDs, writing nothing', async () => {
      const count = (await info(alice)).count;
      expectError(await request(alice, 'GET', '/keys'), 400, 'M_MISSING_PARAM');
      expectError(await request(alice, 'PUT', `/keys/${enc(ROOM)}/s`, key('x')), 400, 'M_MISSING_PARAM');
      expectError(await request(alice, 'DELETE', '/keys'), 400, 'M_MISSING_PARAM');
      expectError(await putKey(alice, version, { ...key('x'), first_message_index: 'one' }), 400, 'M_BAD_JSON');
      expectError(await putKey(alice, version, { ...key('x'), first_message_index: -1 }), 400, 'M_INVALID_PARAM');
      expectError(await putKey(alice, version, { ...key('x'), is_verified: 'yes' }), 400, 'M_BAD_JSON');
      const { session_data: _data, ...withoutData } = key('x');
      expectError(await putKey(alice, version, withoutData), 400, 'M_MISSING_PARAM');
      expectError(await request(alice, 'PUT', `/keys?version=${version}`, { rooms: { notaroom: { sessions: { s: key('x') } } } }), 400, 'M_INVALID_PARAM');
      expectError(await request(alice, 'PUT', `/keys?version=${version}`, { rooms: { [ROOM]: { sessions: { ok: key('x'), bad: { ...key('y'), forwarded_count: 1.5 } } } } }), 400, 'M_BAD_JSON');
      expectError(await request(alice, 'PUT', `/keys?version=${version}`, {}), 400, 'M_MISSING_PARAM');
      expectError(await request(alice, 'PUT', `/keys/${enc(ROOM)}?version=${version}`, { sessions: [] }), 400, 'M_BAD_JSON');
      expectError(await request(alice, 'GET', `/keys/notaroom?version=${version}`), 400, 'M_INVALID_PARAM');
      expectError(await request(alice, 'GET', `/keys?version=999`), 404, 'M_NOT_FOUND');
      assert.equal((await info(alice)).count, count);
      expectError(await request(alice, 'GET', sessionPath(version, ROOM, 'ok')), 404, 'M_NOT_FOUND');
    });
  });
});

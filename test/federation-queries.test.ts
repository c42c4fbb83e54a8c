/**
 * The federation endpoints that answer other servers' questions about this
 * server and its users: /version, /query/directory, /query/profile,
 * /publicRooms, /user/devices, /user/keys/query, /user/keys/claim, and the
 * OpenID token exchange (with the client API's request_token).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signJson, signingKeyPair } from '../spec/signing';
import { unpaddedBase64 } from '../spec/signing-key';
import { joinRemoteUser, remoteIdentity, startFederationServer, type FederationTestServer, type RemoteIdentity } from './helpers/federation';
import { createRoom, enc } from './helpers/rooms';
import { createUser, expectError, request, type TestUser } from './helpers/server';

const V1 = '/_matrix/federation/v1';
const V3 = '/_matrix/client/v3';

/** A device's identity keys signed by its own ed25519 key, and signed one-time keys. */
function deviceKeysFor(userId: string, deviceId: string) {
  const seed = randomBytes(32);
  const keyId = `ed25519:${deviceId}`;
  const pair = signingKeyPair({ keyId, seed });
  const keys = signJson(
    {
      user_id: userId,
      device_id: deviceId,
      algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: unpaddedBase64(randomBytes(32)), [keyId]: pair.publicKeyBase64 },
    },
    userId,
    pair,
  );
  const oneTimeKeys = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`signed_curve25519:K${i}`, signJson({ key: unpaddedBase64(randomBytes(32)) }, userId, pair)]));
  return { keys, oneTimeKeys };
}

/** An ed25519 key pair named by its public key, as cross-signing keys are. */
function crossSigningPair() {
  const seed = randomBytes(32);
  const publicKey = signingKeyPair({ keyId: 'ed25519:x', seed }).publicKeyBase64;
  return signingKeyPair({ keyId: `ed25519:${publicKey}`, seed });
}

/** A cross-signing key object of `usage` for `pair`, signed by `master` unless it is the master key. */
function crossSigningKey(userId: string, usage: string, pair: ReturnType<typeof crossSigningPair>, master?: ReturnType<typeof crossSigningPair>) {
  const json = { user_id: userId, usage: [usage], keys: { [pair.keyId]: pair.publicKeyBase64 } };
  return master ? signJson(json, userId, master) : json;
}

describe('federation: queries', () => {
  let fed: FederationTestServer;
  let remote: RemoteIdentity;
  let unknown: RemoteIdentity;
  let alice: TestUser;

  before(async () => {
    remote = remoteIdentity('remote.example');
    unknown = remoteIdentity('unknown.example');
    fed = await startFederationServer([remote]);
    alice = await createUser(fed.server, 'alice');
  });
  after(() => fed.stop());

  const get = (path: string) => fed.request(remote, 'GET', path);
  const post = (path: string, body: unknown) => fed.request(remote, 'POST', path, body);
  const ok = async (res: Promise<{ status: number; body: any }>) => {
    const r = await res;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const client = (user: TestUser, method: string, path: string, body?: unknown) => fed.server.request(method, `${V3}${path}`, { token: user.accessToken, body });

  it('GET /version names the implementation without a signature', async () => {
    const res = await request(fed.federationUrl, 'GET', `${V1}/version`);
    assert.equal(res.status, 200);
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
    assert.deepEqual(res.body, { server: { name: 'Weft', version } });
  });

  it('refuses unsigned and wrongly signed queries with 401 M_UNAUTHORIZED', async () => {
    const path = `${V1}/query/profile?user_id=${enc(alice.userId)}`;
    expectError(await fed.request(remote, 'GET', path, undefined, { authorization: null }), 401, 'M_UNAUTHORIZED');
    expectError(await fed.request(unknown, 'GET', path), 401, 'M_UNAUTHORIZED');
    expectError(await fed.request(remote, 'POST', `${V1}/user/keys/query`, { device_keys: {} }, { authorization: null }), 401, 'M_UNAUTHORIZED');
    expectError(await fed.request(remote, 'GET', `${V1}/no/such/endpoint`), 404, 'M_UNRECOGNIZED');
  });

  describe('GET /query/directory', () => {
    it('resolves a local alias to its room and the servers in it', async () => {
      const roomId = await createRoom(fed.server, alice, { preset: 'public_chat', room_alias_name: 'lobby' });
      assert.deepEqual(await ok(get(`${V1}/query/directory?room_alias=${enc('#lobby:localhost')}`)), { room_id: roomId, servers: ['localhost'] });
      await joinRemoteUser(fed.services, remote, roomId);
      assert.deepEqual(await ok(get(`${V1}/query/directory?room_alias=${enc('#lobby:localhost')}`)), { room_id: roomId, servers: ['localhost', 'remote.example'] });
    });

    it('answers 404 for an unknown or foreign alias and 400 for a missing or malformed one', async () => {
      expectError(await get(`${V1}/query/directory?room_alias=${enc('#nothing:localhost')}`), 404, 'M_NOT_FOUND');
      expectError(await get(`${V1}/query/directory?room_alias=${enc('#lobby:remote.example')}`), 404, 'M_NOT_FOUND');
      expectError(await get(`${V1}/query/directory`), 400, 'M_MISSING_PARAM');
      expectError(await get(`${V1}/query/directory?room_alias=lobby`), 400, 'M_INVALID_PARAM');
    });
  });

  describe('GET /query/profile', () => {
    it('returns the whole profile, or the one field asked for', async () => {
      const carol = await createUser(fed.server, 'carol');
      assert.equal((await client(carol, 'PUT', `/profile/${enc(carol.userId)}/displayname`, { displayname: 'Carol' })).status, 200);
      assert.equal((await client(carol, 'PUT', `/profile/${enc(carol.userId)}/avatar_url`, { avatar_url: 'mxc://localhost/abc' })).status, 200);
      assert.deepEqual(await ok(get(`${V1}/query/profile?user_id=${enc(carol.userId)}`)), { displayname: 'Carol', avatar_url: 'mxc://localhost/abc' });
      assert.deepEqual(await ok(get(`${V1}/query/profile?user_id=${enc(carol.userId)}&field=displayname`)), { displayname: 'Carol' });
      expectError(await get(`${V1}/query/profile?user_id=${enc(carol.userId)}&field=m.tz`), 404, 'M_NOT_FOUND');
      assert.deepEqual(await ok(get(`${V1}/query/profile?user_id=${enc(alice.userId)}`)), { displayname: 'alice' });
    });

    it('answers 404 for unknown and non-local users, 400 without a valid user ID', async () => {
      expectError(await get(`${V1}/query/profile?user_id=${enc('@nobody:localhost')}`), 404, 'M_NOT_FOUND');
      expectError(await get(`${V1}/query/profile?user_id=${enc('@bob:remote.example')}`), 404, 'M_NOT_FOUND');
      expectError(await get(`${V1}/query/profile`), 400, 'M_MISSING_PARAM');
      expectError(await get(`${V1}/query/profile?user_id=bob`), 400, 'M_INVALID_PARAM');
    });
  });

  describe('GET and POST /publicRooms', () => {
    it('lists this server\'s published rooms, with the client API\'s search and paging', async () => {
      const first = await createRoom(fed.server, alice, { preset: 'public_chat', visibility: 'public', name: 'Federated fun' });
      const second = await createRoom(fed.server, alice, { preset: 'public_chat', visibility: 'public', name: 'Another room' });
      await createRoom(fed.server, alice, { preset: 'public_chat', name: 'Unlisted' });
      const all = await ok(get(`${V1}/publicRooms`));
      assert.deepEqual(new Set(all.chunk.map((r: { room_id: string }) => r.room_id)), new Set([first, second]));
      assert.equal(all.total_room_count_estimate, 2);
      const page = await ok(get(`${V1}/publicRooms?limit=1`));
      assert.equal(page.chunk.length, 1);
      const next = await ok(get(`${V1}/publicRooms?limit=1&since=${enc(page.next_batch)}`));
      assert.notEqual(next.chunk[0].room_id, page.chunk[0].room_id);
      assert.equal((await ok(get(`${V1}/publicRooms?limit=0`))).chunk.length, 2, 'limit 0 is no limit');
      const found = await ok(post(`${V1}/publicRooms`, { filter: { generic_search_term: 'fun' } }));
      assert.deepEqual(found.chunk.map((r: { room_id: string }) => r.room_id), [first]);
      assert.equal(found.chunk[0].name, 'Federated fun');
      expectError(await post(`${V1}/publicRooms`, { limit: 'many' }), 400, 'M_BAD_JSON');
      expectError(await get(`${V1}/publicRooms?limit=-1`), 400, 'M_INVALID_PARAM');
      expectError(await get(`${V1}/publicRooms?include_all_networks=yes`), 400, 'M_INVALID_PARAM');
    });
  });

  describe('devices and keys', () => {
    let dan: TestUser;
    let danDevice: ReturnType<typeof deviceKeysFor>;
    let masterKey: Record<string, unknown>;

    before(async () => {
      dan = await createUser(fed.server, 'dan');
      assert.equal((await client(dan, 'PUT', `/devices/${enc(dan.deviceId)}`, { display_name: "Dan's phone" })).status, 200);
      danDevice = deviceKeysFor(dan.userId, dan.deviceId);
      assert.equal((await client(dan, 'POST', '/keys/upload', { device_keys: danDevice.keys, one_time_keys: danDevice.oneTimeKeys(2) })).status, 200);
      // A second device without keys is not listed.
      await fed.services.accounts.startSession(dan.userId, { deviceId: 'NOKEYS' });
      const master = crossSigningPair();
      masterKey = crossSigningKey(dan.userId, 'master', master);
      const uploaded = await client(dan, 'POST', '/keys/device_signing/upload', {
        master_key: masterKey,
        self_signing_key: crossSigningKey(dan.userId, 'self_signing', crossSigningPair(), master),
        user_signing_key: crossSigningKey(dan.userId, 'user_signing', crossSigningPair(), master),
      });
      assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    });

    it('GET /user/devices lists a local user\'s devices with keys, their cross-signing keys and the stream position', async () => {
      const body = await ok(get(`${V1}/user/devices/${enc(dan.userId)}`));
      assert.equal(body.user_id, dan.userId);
      assert.ok(Number.isInteger(body.stream_id) && body.stream_id > 0);
      assert.deepEqual(body.devices, [{ device_id: dan.deviceId, keys: danDevice.keys, device_display_name: "Dan's phone" }]);
      assert.deepEqual(body.master_key, masterKey);
      assert.deepEqual(body.self_signing_key.usage, ['self_signing']);
      assert.equal(body.user_signing_key, undefined);

      const before = body.stream_id;
      assert.equal((await client(dan, 'PUT', `/devices/${enc(dan.deviceId)}`, { display_name: 'Renamed' })).status, 200);
      const after = await ok(get(`${V1}/user/devices/${enc(dan.userId)}`));
      assert.ok(after.stream_id > before, 'a change moves the stream position');
      assert.equal(after.devices[0].device_display_name, 'Renamed');
    });

    it('GET /user/devices answers 404 for an unknown local user and 400 for a user of another server', async () => {
      const keyless = await ok(get(`${V1}/user/devices/${enc(alice.userId)}`));
      assert.deepEqual({ ...keyless, stream_id: 0 }, { user_id: alice.userId, stream_id: 0, devices: [] }, 'a user without keys lists no device');
      expectError(await get(`${V1}/user/devices/${enc('@nobody:localhost')}`), 404, 'M_NOT_FOUND');
      expectError(await get(`${V1}/user/devices/${enc('@bob:remote.example')}`), 400, 'M_INVALID_PARAM');
      expectError(await get(`${V1}/user/devices/bob`), 400, 'M_INVALID_PARAM');
    });

    it('POST /user/keys/query returns device and cross-signing keys, never user-signing keys', async () => {
      const body = await ok(post(`${V1}/user/keys/query`, { device_keys: { [dan.userId]: [], [alice.userId]: [] } }));
      assert.deepEqual(Object.keys(body).sort(), ['device_keys', 'master_keys', 'self_signing_keys']);
      assert.deepEqual(body.device_keys[alice.userId], {});
      assert.deepEqual(body.device_keys[dan.userId][dan.deviceId], { ...danDevice.keys, unsigned: { device_display_name: 'Renamed' } });
      assert.deepEqual(body.master_keys[dan.userId], masterKey);
      assert.equal(body.self_signing_keys[dan.userId].usage[0], 'self_signing');
      const one = await ok(post(`${V1}/user/keys/query`, { device_keys: { [dan.userId]: ['OTHER'] } }));
      assert.deepEqual(one.device_keys[dan.userId], {});
    });

    it('POST /user/keys/query refuses other servers\' users and malformed bodies', async () => {
      expectError(await post(`${V1}/user/keys/query`, { device_keys: { '@bob:remote.example': [] } }), 400, 'M_INVALID_PARAM');
      expectError(await post(`${V1}/user/keys/query`, { device_keys: { [dan.userId]: 'all' } }), 400, 'M_BAD_JSON');
      expectError(await post(`${V1}/user/keys/query`, {}), 400, 'M_MISSING_PARAM');
    });

    it('POST /user/keys/claim hands out each one-time key once', async () => {
      const claim = () => post(`${V1}/user/keys/claim`, { one_time_keys: { [dan.userId]: { [dan.deviceId]: 'signed_curve25519' } } });
      const first = await ok(claim());
      const second = await ok(claim());
      const keyOf = (body: any) => Object.keys(body.one_time_keys[dan.userId][dan.deviceId])[0];
      assert.match(keyOf(first), /^signed_curve25519:K[01]$/);
      assert.match(keyOf(second), /^signed_curve25519:K[01]$/);
      assert.notEqual(keyOf(first), keyOf(second));
      assert.deepEqual(await ok(claim()), { one_time_keys: {} }, 'none left');
      expectError(await post(`${V1}/user/keys/claim`, { one_time_keys: { '@bob:remote.example': { D: 'signed_curve25519' } } }), 400, 'M_INVALID_PARAM');
      expectError(await post(`${V1}/user/keys/claim`, { one_time_keys: { [dan.userId]: { [dan.deviceId]: 1 } } }), 400, 'M_BAD_JSON');
      expectError(await post(`${V1}/user/keys/claim`, {}), 400, 'M_MISSING_PARAM');
    });
  });

  describe('OpenID', () => {
    const userinfo = (token?: string) => request(fed.federationUrl, 'GET', `${V1}/openid/userinfo${token === undefined ? '' : `?access_token=${enc(token)}`}`);

    it('exchanges a token from /openid/request_token for the user ID, without a server signature', async () => {
      const res = await client(alice, 'POST', `/user/${enc(alice.userId)}/openid/request_token`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.matrix_server_name, 'localhost');
      assert.equal(res.body.expires_in, 3600);
      assert.equal(typeof res.body.access_token, 'string');
      const info = await userinfo(res.body.access_token);
      assert.equal(info.status, 200, JSON.stringify(info.body));
      assert.deepEqual(info.body, { sub: alice.userId });
    });

    it('is not an access token, and an access token is not one', async () => {
      const { body } = await client(alice, 'POST', `/user/${enc(alice.userId)}/openid/request_token`, {});
      expectError(await fed.server.request('GET', `${V3}/account/whoami`, { token: body.access_token }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await userinfo(alice.accessToken), 401, 'M_UNKNOWN_TOKEN');
    });

    it('refuses unknown, missing and expired tokens with 401 M_UNKNOWN_TOKEN', async () => {
      expectError(await userinfo('nonsense'), 401, 'M_UNKNOWN_TOKEN');
      expectError(await userinfo(), 401, 'M_UNKNOWN_TOKEN');
      const { body } = await client(alice, 'POST', `/user/${enc(alice.userId)}/openid/request_token`, {});
      await fed.services.stores.db('openid_tokens').update({ expires_ts: Date.now() - 1 });
      expectError(await userinfo(body.access_token), 401, 'M_UNKNOWN_TOKEN');
    });

    it('issues tokens only for the requester themself, to authenticated users', async () => {
      expectError(await client(alice, 'POST', `/user/${enc('@someone:localhost')}/openid/request_token`, {}), 403, 'M_FORBIDDEN');
      expectError(await fed.server.request('POST', `${V3}/user/${enc(alice.userId)}/openid/request_token`, { body: {} }), 401, 'M_MISSING_TOKEN');
    });

    it('stops working once the user is deactivated', async () => {
      const erin = await createUser(fed.server, 'erin');
      const { body } = await client(erin, 'POST', `/user/${enc(erin.userId)}/openid/request_token`, {});
      assert.equal((await userinfo(body.access_token)).status, 200);
      await fed.services.accounts.deactivate(erin.userId);
      expectError(await userinfo(body.access_token), 401, 'M_UNKNOWN_TOKEN');
    });
  });
});

/** Key distribution: POST /keys/upload, /keys/query, /keys/claim, and the key counts of /sync. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { signJson, signingKeyPair } from '../spec/signing';
import { unpaddedBase64 } from '../spec/signing-key';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const ALGORITHMS = ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'];

/** An ed25519 key pair that signs JSON as `keyId`. */
function signingKey() {
  const seed = randomBytes(32);
  const publicKey = signingKeyPair({ keyId: 'ed25519:k', seed }).publicKeyBase64;
  return { publicKey, sign: <T extends object>(json: T, userId: string, keyId: string) => signJson(json, userId, signingKeyPair({ keyId, seed })) };
}

const curveKey = () => unpaddedBase64(randomBytes(32));

/** A device's identity keys, signed by its own ed25519 key, and a way to sign its one-time keys. */
function deviceKeysFor(userId: string, deviceId: string) {
  const key = signingKey();
  const keys = key.sign(
    {
      user_id: userId,
      device_id: deviceId,
      algorithms: ALGORITHMS,
      keys: { [`curve25519:${deviceId}`]: curveKey(), [`ed25519:${deviceId}`]: key.publicKey },
    },
    userId,
    `ed25519:${deviceId}`,
  );
  const signedKey = (extra: Record<string, unknown> = {}) => key.sign({ key: curveKey(), ...extra }, userId, `ed25519:${deviceId}`);
  return { key, keys, signedKey };
}

/** `count` signed one-time keys named `signed_curve25519:<prefix><i>`. */
function oneTimeKeys(device: ReturnType<typeof deviceKeysFor>, count: number, prefix = 'K') {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`signed_curve25519:${prefix}${i}`, device.signedKey()]));
}

describe('end-to-end encryption keys', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let device: ReturnType<typeof deviceKeysFor>;

  const post = (user: TestUser, path: string, body: unknown) => server.request('POST', `${V3}${path}`, { token: user.accessToken, body });
  const upload = (user: TestUser, body: unknown) => post(user, '/keys/upload', body);
  const query = (user: TestUser, deviceKeys: Record<string, string[]>) => post(user, '/keys/query', { device_keys: deviceKeys });
  const claim = (user: TestUser, oneTime: Record<string, Record<string, string>>) => post(user, '/keys/claim', { one_time_keys: oneTime });
  const sync = async (user: TestUser) => {
    const res = await server.request('GET', `${V3}/sync`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  /** A second signed-in device of `user`. */
  const newDevice = async (user: TestUser, deviceId: string, displayName?: string): Promise<TestUser> => {
    const session = await server.hs.services.accounts.startSession(user.userId, { deviceId, displayName });
    return { ...user, deviceId, accessToken: session.access_token };
  };

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    device = deviceKeysFor(alice.userId, alice.deviceId);
  });
  after(() => server.stop());

  describe('POST /keys/upload', () => {
    it('stores device keys that /keys/query returns with the display name, and counts one-time keys', async () => {
      await server.request('PUT', `${V3}/devices/${alice.deviceId}`, { token: alice.accessToken, body: { display_name: "Alice's phone" } });
      const res = await upload(alice, { device_keys: device.keys, one_time_keys: oneTimeKeys(device, 3) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { one_time_key_counts: { signed_curve25519: 3 } });

      const got = await query(bob, { [alice.userId]: [] });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.device_keys[alice.userId], {
        [alice.deviceId]: { ...device.keys, unsigned: { device_display_name: "Alice's phone" } },
      });
    });

    it('answers the counts, zero included, for an empty upload', async () => {
      const fresh = await newDevice(bob, 'EMPTY');
      const res = await upload(fresh, {});
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { one_time_key_counts: { signed_curve25519: 0 } });
    });

    it("refuses device keys for another user or device with 400 M_INVALID_PARAM, storing nothing", async () => {
      const other = await newDevice(bob, 'BOBKEYS');
      const forAlice = deviceKeysFor(alice.userId, other.deviceId);
      expectError(await upload(other, { device_keys: forAlice.keys }), 400, 'M_INVALID_PARAM');
      const forOtherDevice = deviceKeysFor(bob.userId, 'SOMEOTHER');
      expectError(await upload(other, { device_keys: forOtherDevice.keys, one_time_keys: oneTimeKeys(forOtherDevice, 2) }), 400, 'M_INVALID_PARAM');
      const got = await query(alice, { [bob.userId]: ['BOBKEYS'] });
      assert.deepEqual(got.body.device_keys[bob.userId], {});
      assert.deepEqual((await upload(other, {})).body.one_time_key_counts, { signed_curve25519: 0 });
    });

    it('refuses device keys with a bad or missing self-signature with 400 M_INVALID_PARAM', async () => {
      const other = await newDevice(bob, 'BADSIG');
      const good = deviceKeysFor(bob.userId, other.deviceId);
      const tampered = { ...good.keys, algorithms: ['m.megolm.v1.aes-sha2'] };
      expectError(await upload(other, { device_keys: tampered }), 400, 'M_INVALID_PARAM');
      const signedByAnother = signingKey().sign({ ...good.keys, signatures: undefined }, bob.userId, `ed25519:${other.deviceId}`);
      expectError(await upload(other, { device_keys: signedByAnother }), 400, 'M_INVALID_PARAM');
      const { [`ed25519:${other.deviceId}`]: _ed, ...withoutEd25519 } = good.keys.keys;
      expectError(await upload(other, { device_keys: { ...good.keys, keys: withoutEd25519 } }), 400, 'M_INVALID_PARAM');
      const got = await query(alice, { [bob.userId]: ['BADSIG'] });
      assert.deepEqual(got.body.device_keys[bob.userId], {});
    });

    it('refuses malformed bodies with the right errcode', async () => {
      expectError(await server.request('POST', `${V3}/keys/upload`, { token: alice.accessToken, rawBody: '{"device_keys":' }), 400, 'M_NOT_JSON');
      expectError(await upload(alice, { one_time_keys: [] }), 400, 'M_BAD_JSON');
      expectError(await upload(alice, { one_time_keys: { 'signed_curve25519:X': 7 } }), 400, 'M_BAD_JSON');
      expectError(await upload(alice, { one_time_keys: { 'signed_curve25519:X': { key: 'abc' } } }), 400, 'M_BAD_JSON');
      expectError(await upload(alice, { device_keys: { user_id: alice.userId } }), 400, 'M_MISSING_PARAM');
      expectError(await upload(alice, { one_time_keys: { nocolon: 'abc' } }), 400, 'M_INVALID_PARAM');
      expectError(await upload(alice, { one_time_keys: { [`signed_curve25519:${'x'.repeat(300)}`]: 'abc' } }), 400, 'M_INVALID_PARAM');
    });

    it('needs a valid access token', async () => {
      expectError(await server.request('POST', `${V3}/keys/upload`, { body: {} }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('POST', `${V3}/keys/upload`, { token: 'nope', body: {} }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('POST', `${V3}/keys/query`, { body: { device_keys: {} } }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('POST', `${V3}/keys/claim`, { body: { one_time_keys: {} } }), 401, 'M_MISSING_TOKEN');
    });

    it('accepts a one-time key again with the same content, and refuses different content for its ID, writing nothing', async () => {
      const carolDevice = await newDevice(bob, 'REUPLOAD');
      const keys = deviceKeysFor(bob.userId, carolDevice.deviceId);
      const first = oneTimeKeys(keys, 2, 'R');
      assert.deepEqual((await upload(carolDevice, { one_time_keys: first })).body.one_time_key_counts, { signed_curve25519: 2 });
      // The same keys, signed afresh: fine, and nothing new.
      const resigned = Object.fromEntries(Object.entries(first).map(([id, k]) => [id, keys.key.sign({ key: k.key }, bob.userId, `ed25519:${carolDevice.deviceId}`)]));
      const again = await upload(carolDevice, { one_time_keys: resigned });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.deepEqual(again.body.one_time_key_counts, { signed_curve25519: 2 });

      const clash = await upload(carolDevice, {
        device_keys: keys.keys,
        one_time_keys: { 'signed_curve25519:R0': keys.signedKey(), 'signed_curve25519:NEW': keys.signedKey() },
        fallback_keys: { 'signed_curve25519:F': keys.signedKey({ fallback: true }) },
      });
      expectError(clash, 400, 'M_INVALID_PARAM');
      assert.deepEqual((await upload(carolDevice, {})).body.one_time_key_counts, { signed_curve25519: 2 });
      assert.deepEqual((await query(alice, { [bob.userId]: ['REUPLOAD'] })).body.device_keys[bob.userId], {});
      assert.deepEqual((await sync(carolDevice)).device_unused_fallback_key_types, []);
    });

    it('refuses two fallback keys of one algorithm in one upload', async () => {
      const keys = deviceKeysFor(alice.userId, alice.deviceId);
      const res = await upload(alice, {
        fallback_keys: { 'signed_curve25519:F1': keys.signedKey({ fallback: true }), 'signed_curve25519:F2': keys.signedKey({ fallback: true }) },
      });
      expectError(res, 400, 'M_INVALID_PARAM');
    });
  });

  describe('POST /keys/query', () => {
    it('returns all devices with keys for an empty list, and only the named ones otherwise', async () => {
      const second = await newDevice(alice, 'SECOND');
      const secondKeys = deviceKeysFor(alice.userId, 'SECOND');
      assert.equal((await upload(second, { device_keys: secondKeys.keys })).status, 200);
      await newDevice(alice, 'NOKEYS');

      const all = await query(bob, { [alice.userId]: [] });
      assert.deepEqual(Object.keys(all.body.device_keys[alice.userId]).sort(), [alice.deviceId, 'SECOND'].sort());
      assert.deepEqual(all.body.device_keys[alice.userId].SECOND.unsigned, {});
      const some = await query(bob, { [alice.userId]: ['SECOND', 'NOKEYS', 'NOSUCH'] });
      assert.deepEqual(Object.keys(some.body.device_keys[alice.userId]), ['SECOND']);
    });

    it('answers an empty map for a local user without keys, and a failure for another server', async () => {
      const res = await query(alice, { '@nobody:localhost': [], '@someone:remote.example': [] });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.device_keys, { '@nobody:localhost': {} });
      assert.ok(res.body.failures['remote.example'], JSON.stringify(res.body));
      assert.deepEqual(res.body.master_keys, {});
    });

    it('refuses something that is not a user ID, and malformed bodies', async () => {
      expectError(await query(alice, { notauser: [] }), 400, 'M_INVALID_PARAM');
      expectError(await post(alice, '/keys/query', {}), 400, 'M_MISSING_PARAM');
      expectError(await post(alice, '/keys/query', { device_keys: { [bob.userId]: 'all' } }), 400, 'M_BAD_JSON');
      expectError(await post(alice, '/keys/query', { device_keys: { [bob.userId]: [1] } }), 400, 'M_BAD_JSON');
    });
  });

  describe('POST /keys/claim', () => {
    it('hands out each one-time key once, oldest upload first, and the counts fall', async () => {
      const phone = await newDevice(bob, 'CLAIMME');
      const keys = deviceKeysFor(bob.userId, 'CLAIMME');
      const first = oneTimeKeys(keys, 1, 'A');
      await upload(phone, { device_keys: keys.keys, one_time_keys: first });
      await upload(phone, { one_time_keys: oneTimeKeys(keys, 1, 'B') });
      assert.deepEqual((await sync(phone)).device_one_time_keys_count, { signed_curve25519: 2 });

      const res = await claim(alice, { [bob.userId]: { CLAIMME: 'signed_curve25519' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.one_time_keys, { [bob.userId]: { CLAIMME: { 'signed_curve25519:A0': first['signed_curve25519:A0'] } } });
      assert.deepEqual(res.body.failures, {});
      assert.deepEqual((await sync(phone)).device_one_time_keys_count, { signed_curve25519: 1 });

      const second = await claim(alice, { [bob.userId]: { CLAIMME: 'signed_curve25519' } });
      assert.deepEqual(Object.keys(second.body.one_time_keys[bob.userId].CLAIMME), ['signed_curve25519:B0']);
      const none = await claim(alice, { [bob.userId]: { CLAIMME: 'signed_curve25519' } });
      assert.deepEqual(none.body.one_time_keys, {});
      assert.deepEqual((await sync(phone)).device_one_time_keys_count, { signed_curve25519: 0 });
    });

    it('gives 20 concurrent claims of 10 one-time keys each key exactly once, then the fallback key', async () => {
      const target = await newDevice(bob, 'RACE');
      const keys = deviceKeysFor(bob.userId, 'RACE');
      const fallback = keys.signedKey({ fallback: true });
      await upload(target, { device_keys: keys.keys, one_time_keys: oneTimeKeys(keys, 10, 'C'), fallback_keys: { 'signed_curve25519:FB': fallback } });
      assert.deepEqual((await sync(target)).device_unused_fallback_key_types, ['signed_curve25519']);

      const claimers = await Promise.all(Array.from({ length: 4 }, (_, i) => createUser(server, `claimer${i}`)));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => claim(claimers[i % claimers.length], { [bob.userId]: { RACE: 'signed_curve25519' } })),
      );
      const handedOut = results.map((res) => {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const got = Object.keys(res.body.one_time_keys[bob.userId].RACE);
        assert.equal(got.length, 1);
        return got[0];
      });
      const oneTime = handedOut.filter((id) => id !== 'signed_curve25519:FB');
      assert.equal(oneTime.length, 10);
      assert.deepEqual(new Set(oneTime), new Set(Array.from({ length: 10 }, (_, i) => `signed_curve25519:C${i}`)));
      assert.equal(handedOut.filter((id) => id === 'signed_curve25519:FB').length, 10);
      const fallbackClaim = results.find((res) => res.body.one_time_keys[bob.userId].RACE['signed_curve25519:FB']);
      assert.deepEqual(fallbackClaim!.body.one_time_keys[bob.userId].RACE['signed_curve25519:FB'], fallback);

      const after = await sync(target);
      assert.deepEqual(after.device_one_time_keys_count, { signed_curve25519: 0 });
      assert.deepEqual(after.device_unused_fallback_key_types, []);
    });

    it('keeps a used fallback key used when it is uploaded again, and a new one is unused', async () => {
      const target = await newDevice(bob, 'FALLBACK');
      const keys = deviceKeysFor(bob.userId, 'FALLBACK');
      const fallback = keys.signedKey({ fallback: true });
      await upload(target, { fallback_keys: { 'signed_curve25519:F1': fallback } });
      const claimed = await claim(alice, { [bob.userId]: { FALLBACK: 'signed_curve25519' } });
      assert.deepEqual(claimed.body.one_time_keys[bob.userId].FALLBACK, { 'signed_curve25519:F1': fallback });
      // Handed out again while it is the only key.
      const again = await claim(alice, { [bob.userId]: { FALLBACK: 'signed_curve25519' } });
      assert.deepEqual(again.body.one_time_keys[bob.userId].FALLBACK, { 'signed_curve25519:F1': fallback });

      await upload(target, { fallback_keys: { 'signed_curve25519:F1': fallback } });
      assert.deepEqual((await sync(target)).device_unused_fallback_key_types, []);
      const replacement = keys.signedKey({ fallback: true });
      await upload(target, { fallback_keys: { 'signed_curve25519:F2': replacement } });
      assert.deepEqual((await sync(target)).device_unused_fallback_key_types, ['signed_curve25519']);
      const third = await claim(alice, { [bob.userId]: { FALLBACK: 'signed_curve25519' } });
      assert.deepEqual(third.body.one_time_keys[bob.userId].FALLBACK, { 'signed_curve25519:F2': replacement });
    });

    it('reports other servers in failures, leaves unknown devices out, and refuses malformed bodies', async () => {
      const res = await claim(alice, { [bob.userId]: { NOSUCH: 'signed_curve25519' }, '@x:remote.example': { D: 'signed_curve25519' } });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.one_time_keys, {});
      assert.ok(res.body.failures['remote.example']);
      expectError(await post(alice, '/keys/claim', {}), 400, 'M_MISSING_PARAM');
      expectError(await post(alice, '/keys/claim', { one_time_keys: { [bob.userId]: { D: 5 } } }), 400, 'M_BAD_JSON');
      expectError(await claim(alice, { 'not a user': { D: 'signed_curve25519' } }), 400, 'M_INVALID_PARAM');
    });
  });

  describe('device deletion', () => {
    it('deletes the device keys, one-time keys and fallback key with the device', async () => {
      const doomed = await newDevice(alice, 'DOOMED');
      const keys = deviceKeysFor(alice.userId, 'DOOMED');
      await upload(doomed, { device_keys: keys.keys, one_time_keys: oneTimeKeys(keys, 3), fallback_keys: { 'signed_curve25519:F': keys.signedKey({ fallback: true }) } });
      assert.ok((await query(bob, { [alice.userId]: ['DOOMED'] })).body.device_keys[alice.userId].DOOMED);

      const auth = { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: alice.password };
      const deleted = await server.request('DELETE', `${V3}/devices/DOOMED`, { token: alice.accessToken, body: { auth } });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));

      assert.deepEqual((await query(bob, { [alice.userId]: ['DOOMED'] })).body.device_keys[alice.userId], {});
      assert.deepEqual((await claim(bob, { [alice.userId]: { DOOMED: 'signed_curve25519' } })).body.one_time_keys, {});
      const { oneTimeKeys: store } = server.hs.services.stores;
      assert.deepEqual(await store.counts(alice.userId, 'DOOMED'), {});
      assert.deepEqual(await store.unusedFallbackAlgorithms(alice.userId, 'DOOMED'), []);
      // A new device under the same ID starts with nothing.
      await newDevice(alice, 'DOOMED');
      assert.deepEqual((await query(bob, { [alice.userId]: ['DOOMED'] })).body.device_keys[alice.userId], {});
    });
  });
});

/** Cross-signing: POST /keys/device_signing/upload (with its UIA rule) and POST /keys/signatures/upload. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { signJson, signingKeyPair } from '../spec/signing';
import { unpaddedBase64 } from '../spec/signing-key';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

/** An ed25519 key pair that signs JSON under `ed25519:<keyName>`. */
function signingKey() {
  const seed = randomBytes(32);
  const publicKey = signingKeyPair({ keyId: 'ed25519:k', seed }).publicKeyBase64;
  return { publicKey, sign: <T extends object>(json: T, userId: string, keyId: string) => signJson(json, userId, signingKeyPair({ keyId, seed })) };
}

type Key = ReturnType<typeof signingKey>;

/** A cross-signing key object of `usage` for `key`, signed by `master` unless it is the master key. */
function crossSigningKey(userId: string, usage: string, key: Key, master?: Key) {
  const json = { user_id: userId, usage: [usage], keys: { [`ed25519:${key.publicKey}`]: key.publicKey } };
  return master ? master.sign(json, userId, `ed25519:${master.publicKey}`) : json;
}

/** A user's three cross-signing keys and the upload body that sets them. */
function crossSigningSet(userId: string) {
  const master = signingKey();
  const selfSigning = signingKey();
  const userSigning = signingKey();
  return {
    master,
    selfSigning,
    userSigning,
    body: {
      master_key: crossSigningKey(userId, 'master', master),
      self_signing_key: crossSigningKey(userId, 'self_signing', selfSigning, master),
      user_signing_key: crossSigningKey(userId, 'user_signing', userSigning, master),
    },
  };
}

function deviceKeysFor(userId: string, deviceId: string) {
  const key = signingKey();
  const keys = key.sign(
    {
      user_id: userId,
      device_id: deviceId,
      algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: unpaddedBase64(randomBytes(32)), [`ed25519:${deviceId}`]: key.publicKey },
    },
    userId,
    `ed25519:${deviceId}`,
  );
  return { key, keys };
}

const withoutSignatures = <T extends { signatures?: unknown }>(json: T): Omit<T, 'signatures'> => {
  const { signatures: _signatures, ...rest } = json;
  return rest;
};

describe('cross-signing', () => {
  let server: TestServer;

  const post = (user: TestUser, path: string, body: unknown) => server.request('POST', `${V3}${path}`, { token: user.accessToken, body });
  const uploadSigningKeys = (user: TestUser, body: unknown) => post(user, '/keys/device_signing/upload', body);
  const uploadSignatures = (user: TestUser, body: unknown) => post(user, '/keys/signatures/upload', body);
  const query = async (user: TestUser, userIds: string[]) => {
    const res = await post(user, '/keys/query', { device_keys: Object.fromEntries(userIds.map((id) => [id, []])) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const passwordAuth = (user: TestUser, session: string, password = user.password) =>
    ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password, session });
  /** A user with uploaded device keys and cross-signing keys. */
  const crossSignedUser = async (localpart: string) => {
    const user = await createUser(server, localpart);
    const device = deviceKeysFor(user.userId, user.deviceId);
    assert.equal((await post(user, '/keys/upload', { device_keys: device.keys })).status, 200);
    const keys = crossSigningSet(user.userId);
    const res = await uploadSigningKeys(user, keys.body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { user, device, keys };
  };

  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  describe('POST /keys/device_signing/upload', () => {
    it('takes the first keys without UIA; the user-signing key is shown to its owner only', async () => {
      const { user: alice, keys } = await crossSignedUser('alice');
      const bob = await createUser(server, 'bob');
      const own = await query(alice, [alice.userId]);
      assert.deepEqual(own.master_keys[alice.userId], keys.body.master_key);
      assert.deepEqual(own.self_signing_keys[alice.userId], keys.body.self_signing_key);
      assert.deepEqual(own.user_signing_keys[alice.userId], keys.body.user_signing_key);
      const seen = await query(bob, [alice.userId]);
      assert.deepEqual(seen.master_keys[alice.userId], keys.body.master_key);
      assert.deepEqual(seen.self_signing_keys[alice.userId], keys.body.self_signing_key);
      assert.deepEqual(seen.user_signing_keys, {});
    });

    it('accepts the same keys again without UIA, but asks for it to replace them', async () => {
      const { user, keys } = await crossSignedUser('carol');
      const again = await uploadSigningKeys(user, keys.body);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      // Repeating only the master key is fine too.
      assert.equal((await uploadSigningKeys(user, { master_key: keys.body.master_key })).status, 200);

      const replacement = crossSigningSet(user.userId);
      const challenge = await uploadSigningKeys(user, replacement.body);
      assert.equal(challenge.status, 401, JSON.stringify(challenge.body));
      assert.deepEqual(challenge.body.flows, [{ stages: ['m.login.password'] }]);
      assert.equal(typeof challenge.body.session, 'string');
      // A new self-signing key alone (no master key in the request) needs UIA as well.
      const sskOnly = { self_signing_key: crossSigningKey(user.userId, 'self_signing', signingKey(), keys.master) };
      assert.equal((await uploadSigningKeys(user, sskOnly)).status, 401);
      assert.deepEqual((await query(user, [user.userId])).master_keys[user.userId], keys.body.master_key);

      const wrong = await uploadSigningKeys(user, { ...replacement.body, auth: passwordAuth(user, challenge.body.session, 'wrong') });
      expectError(wrong, 401, 'M_FORBIDDEN');
      assert.deepEqual((await query(user, [user.userId])).master_keys[user.userId], keys.body.master_key);

      const done = await uploadSigningKeys(user, { ...replacement.body, auth: passwordAuth(user, challenge.body.session) });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const after = await query(user, [user.userId]);
      assert.deepEqual(after.master_keys[user.userId], replacement.body.master_key);
      assert.deepEqual(after.user_signing_keys[user.userId], replacement.body.user_signing_key);
    });

    it('refuses keys not signed by the master key with 400 M_INVALID_SIGNATURE', async () => {
      const dave = await createUser(server, 'dave');
      const keys = crossSigningSet(dave.userId);
      const forged = { ...keys.body, self_signing_key: crossSigningKey(dave.userId, 'self_signing', keys.selfSigning, signingKey()) };
      expectError(await uploadSigningKeys(dave, forged), 400, 'M_INVALID_SIGNATURE');
      const unsigned = { ...keys.body, user_signing_key: crossSigningKey(dave.userId, 'user_signing', keys.userSigning) };
      expectError(await uploadSigningKeys(dave, unsigned), 400, 'M_INVALID_SIGNATURE');
      assert.deepEqual((await query(dave, [dave.userId])).master_keys, {});
    });

    it('refuses keys without a master key to check them against with 400 M_MISSING_PARAM', async () => {
      const erin = await createUser(server, 'erin');
      const keys = crossSigningSet(erin.userId);
      expectError(await uploadSigningKeys(erin, { self_signing_key: keys.body.self_signing_key }), 400, 'M_MISSING_PARAM');
    });

    it("refuses another user's keys, wrong usages and malformed keys with 400", async () => {
      const frank = await createUser(server, 'frank');
      const keys = crossSigningSet(frank.userId);
      const other = crossSigningSet('@someone:localhost');
      expectError(await uploadSigningKeys(frank, { master_key: other.body.master_key }), 400, 'M_INVALID_PARAM');
      expectError(await uploadSigningKeys(frank, { master_key: { ...keys.body.master_key, usage: ['self_signing'] } }), 400, 'M_INVALID_PARAM');
      expectError(await uploadSigningKeys(frank, { master_key: { ...keys.body.master_key, usage: ['bogus'] } }), 400, 'M_INVALID_PARAM');
      expectError(await uploadSigningKeys(frank, { master_key: { ...keys.body.master_key, keys: { 'ed25519:abc': 'def' } } }), 400, 'M_INVALID_PARAM');
      const twoKeys = { ...keys.body.master_key, keys: { ...keys.body.master_key.keys, 'ed25519:x': 'x' } };
      expectError(await uploadSigningKeys(frank, { master_key: twoKeys }), 400, 'M_INVALID_PARAM');
      expectError(await uploadSigningKeys(frank, { master_key: { user_id: frank.userId, usage: ['master'] } }), 400, 'M_MISSING_PARAM');
      expectError(await uploadSigningKeys(frank, { master_key: 'key' }), 400, 'M_BAD_JSON');
      expectError(await server.request('POST', `${V3}/keys/device_signing/upload`, { token: frank.accessToken, rawBody: '{' }), 400, 'M_NOT_JSON');
      expectError(await server.request('POST', `${V3}/keys/device_signing/upload`, { body: keys.body }), 401, 'M_MISSING_TOKEN');
      assert.deepEqual((await query(frank, [frank.userId])).master_keys, {});
    });

    it('refuses a key whose public key is one of the user\'s device IDs with 403 M_FORBIDDEN', async () => {
      const grace = await createUser(server, 'grace');
      const keys = crossSigningSet(grace.userId);
      await server.hs.services.accounts.startSession(grace.userId, { deviceId: keys.selfSigning.publicKey });
      expectError(await uploadSigningKeys(grace, keys.body), 403, 'M_FORBIDDEN');
      assert.deepEqual((await query(grace, [grace.userId])).master_keys, {});
    });
  });

  describe('POST /keys/signatures/upload', () => {
    it("stores the self-signing key's signature of a device, which everyone sees", async () => {
      const { user: heidi, device, keys } = await crossSignedUser('heidi');
      const viewer = await createUser(server, 'ivan');
      const signed = keys.selfSigning.sign(withoutSignatures(device.keys), heidi.userId, `ed25519:${keys.selfSigning.publicKey}`);
      const res = await uploadSignatures(heidi, { [heidi.userId]: { [heidi.deviceId]: signed } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { failures: {} });
      const seen = (await query(viewer, [heidi.userId])).device_keys[heidi.userId][heidi.deviceId];
      assert.deepEqual(seen.signatures[heidi.userId], {
        ...device.keys.signatures[heidi.userId],
        [`ed25519:${keys.selfSigning.publicKey}`]: signed.signatures[heidi.userId][`ed25519:${keys.selfSigning.publicKey}`],
      });
    });

    it('stores a device\'s signature of its own master key, which everyone sees', async () => {
      const { user: judy, device, keys } = await crossSignedUser('judy');
      const viewer = await createUser(server, 'ken');
      const signed = device.key.sign(keys.body.master_key, judy.userId, `ed25519:${judy.deviceId}`);
      const res = await uploadSignatures(judy, { [judy.userId]: { [keys.master.publicKey]: signed } });
      assert.deepEqual(res.body, { failures: {} });
      assert.deepEqual((await query(viewer, [judy.userId])).master_keys[judy.userId], signed);
    });

    it("stores a user-signing key's signature of another user's master key, shown to the signer only", async () => {
      const { user: signer, keys: signerKeys } = await crossSignedUser('leo');
      const { user: target, keys: targetKeys } = await crossSignedUser('mallory');
      const bystander = await createUser(server, 'nina');
      const signed = signerKeys.userSigning.sign(targetKeys.body.master_key, signer.userId, `ed25519:${signerKeys.userSigning.publicKey}`);
      const res = await uploadSignatures(signer, { [target.userId]: { [targetKeys.master.publicKey]: signed } });
      assert.deepEqual(res.body, { failures: {} });
      assert.deepEqual((await query(signer, [target.userId])).master_keys[target.userId], signed);
      assert.deepEqual((await query(target, [target.userId])).master_keys[target.userId], targetKeys.body.master_key);
      assert.deepEqual((await query(bystander, [target.userId])).master_keys[target.userId], targetKeys.body.master_key);
    });

    it('reports forged, missing and misplaced signatures in failures and stores none of them', async () => {
      const { user: olivia, device, keys } = await crossSignedUser('olivia');
      const { user: peggy, keys: peggyKeys } = await crossSignedUser('peggy');
      const sskId = `ed25519:${keys.selfSigning.publicKey}`;
      const forgedDevice = signingKey().sign(withoutSignatures(device.keys), olivia.userId, sskId);
      const tamperedDevice = keys.selfSigning.sign({ ...withoutSignatures(device.keys), algorithms: ['evil'] }, olivia.userId, sskId);
      const forgedMaster = signingKey().sign(keys.body.master_key, olivia.userId, `ed25519:${olivia.deviceId}`);
      const forgedOther = signingKey().sign(peggyKeys.body.master_key, olivia.userId, `ed25519:${keys.userSigning.publicKey}`);

      const res = await uploadSignatures(olivia, {
        [olivia.userId]: {
          [olivia.deviceId]: forgedDevice,
          NOSUCHDEVICE: keys.selfSigning.sign({ ...withoutSignatures(device.keys), device_id: 'NOSUCHDEVICE' }, olivia.userId, sskId),
          [keys.master.publicKey]: forgedMaster,
        },
        [peggy.userId]: { [peggyKeys.master.publicKey]: forgedOther, [peggy.deviceId]: forgedOther },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const failures = res.body.failures;
      assert.equal(failures[olivia.userId][olivia.deviceId].errcode, 'M_INVALID_SIGNATURE');
      assert.equal(failures[olivia.userId].NOSUCHDEVICE.errcode, 'M_NOT_FOUND');
      assert.equal(failures[olivia.userId][keys.master.publicKey].errcode, 'M_INVALID_SIGNATURE');
      assert.equal(failures[peggy.userId][peggyKeys.master.publicKey].errcode, 'M_INVALID_SIGNATURE');
      assert.equal(failures[peggy.userId][peggy.deviceId].errcode, 'M_NOT_FOUND');
      assert.equal(typeof failures[peggy.userId][peggy.deviceId].error, 'string');

      const tampered = await uploadSignatures(olivia, { [olivia.userId]: { [olivia.deviceId]: tamperedDevice } });
      assert.equal(tampered.body.failures[olivia.userId][olivia.deviceId].errcode, 'M_INVALID_PARAM');
      const noSignature = await uploadSignatures(olivia, { [olivia.userId]: { [olivia.deviceId]: withoutSignatures(device.keys) } });
      assert.equal(noSignature.body.failures[olivia.userId][olivia.deviceId].errcode, 'M_INVALID_SIGNATURE');

      const seen = await query(peggy, [olivia.userId, peggy.userId]);
      assert.deepEqual(seen.device_keys[olivia.userId][olivia.deviceId].signatures, device.keys.signatures);
      assert.deepEqual(seen.master_keys[olivia.userId], keys.body.master_key);
      assert.deepEqual((await query(olivia, [peggy.userId])).master_keys[peggy.userId], peggyKeys.body.master_key);
    });

    it('stores the valid signatures of a request and reports the others', async () => {
      const { user: quinn, device, keys } = await crossSignedUser('quinn');
      const good = keys.selfSigning.sign(withoutSignatures(device.keys), quinn.userId, `ed25519:${keys.selfSigning.publicKey}`);
      const forgedMaster = signingKey().sign(keys.body.master_key, quinn.userId, `ed25519:${quinn.deviceId}`);
      const res = await uploadSignatures(quinn, { [quinn.userId]: { [quinn.deviceId]: good, [keys.master.publicKey]: forgedMaster } });
      assert.deepEqual(Object.keys(res.body.failures[quinn.userId]), [keys.master.publicKey]);
      const seen = (await query(quinn, [quinn.userId])).device_keys[quinn.userId][quinn.deviceId];
      assert.ok(seen.signatures[quinn.userId][`ed25519:${keys.selfSigning.publicKey}`]);
    });

    it('reports a missing self-signing or user-signing key as M_NOT_FOUND', async () => {
      const rupert = await createUser(server, 'rupert');
      const device = deviceKeysFor(rupert.userId, rupert.deviceId);
      await post(rupert, '/keys/upload', { device_keys: device.keys });
      const { user: sybil, keys: sybilKeys } = await crossSignedUser('sybil');
      const res = await uploadSignatures(rupert, {
        [rupert.userId]: { [rupert.deviceId]: signingKey().sign(withoutSignatures(device.keys), rupert.userId, 'ed25519:whatever') },
        [sybil.userId]: { [sybilKeys.master.publicKey]: sybilKeys.body.master_key },
      });
      assert.equal(res.body.failures[rupert.userId][rupert.deviceId].errcode, 'M_NOT_FOUND');
      assert.equal(res.body.failures[sybil.userId][sybilKeys.master.publicKey].errcode, 'M_NOT_FOUND');
    });

    it('refuses malformed bodies and missing tokens', async () => {
      const trent = await createUser(server, 'trent');
      expectError(await uploadSignatures(trent, { [trent.userId]: 'x' }), 400, 'M_BAD_JSON');
      expectError(await uploadSignatures(trent, { [trent.userId]: { DEVICE: [] } }), 400, 'M_BAD_JSON');
      expectError(await server.request('POST', `${V3}/keys/signatures/upload`, { token: trent.accessToken, rawBody: 'nope' }), 400, 'M_NOT_JSON');
      expectError(await server.request('POST', `${V3}/keys/signatures/upload`, { body: {} }), 401, 'M_MISSING_TOKEN');
    });
  });
});

/**
 * A real client's crypto stack against the key APIs: matrix-js-sdk with its
 * Rust crypto (what Element uses) uploads device keys, bootstraps
 * cross-signing (keys and signatures) and creates a key backup it trusts.
 */
import assert from 'node:assert/strict';
import { createUser, startServer, type TestServer } from './helpers/server';

const loadSdk = () => import('matrix-js-sdk');

const quiet = {
  trace() {}, debug() {}, info() {}, warn() {}, error() {},
  getChild: () => quiet,
};

/** The Rust crypto logs through console; keep test output clean while it runs. */
const MUTED = ['log', 'debug', 'info', 'warn'] as const;

describe('matrix-js-sdk Rust crypto', () => {
  let server: TestServer;
  let sdk: Awaited<ReturnType<typeof loadSdk>>;
  const saved = MUTED.map((name) => console[name]);

  before(async () => {
    sdk = await loadSdk();
    (await import('matrix-js-sdk/lib/logger.js')).logger.disableAll();
    server = await startServer();
    for (const name of MUTED) console[name] = () => {};
  });
  after(async () => {
    MUTED.forEach((name, i) => (console[name] = saved[i]));
    await server?.stop();
  });

  it('bootstraps cross-signing and a trusted key backup', async () => {
    const alice = await createUser(server, 'alice');
    const client = sdk.createClient({ baseUrl: server.baseUrl, accessToken: alice.accessToken, userId: alice.userId, deviceId: alice.deviceId, logger: quiet });
    try {
      await client.initRustCrypto({ useIndexedDB: false });
      const crypto = client.getCrypto()!;
      await crypto.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: async (makeRequest) => {
          await makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: alice.password });
        },
      });
      // The client read its cross-signing keys back through /keys/query and checked them.
      assert.equal((await crypto.getCrossSigningStatus()).publicKeysOnDevice, true);

      // What another user now sees: the device, signed by alice's self-signing key, and her master key signed by the device.
      const bob = await createUser(server, 'bob');
      const query = await server.request('POST', '/_matrix/client/v3/keys/query', { token: bob.accessToken, body: { device_keys: { [alice.userId]: [] } } });
      assert.equal(query.status, 200, JSON.stringify(query.body));
      const selfSigningKeyId = Object.keys(query.body.self_signing_keys[alice.userId].keys)[0];
      const device = query.body.device_keys[alice.userId][alice.deviceId];
      assert.ok(device.signatures[alice.userId][selfSigningKeyId], JSON.stringify(device));
      assert.ok(query.body.master_keys[alice.userId].signatures[alice.userId][`ed25519:${alice.deviceId}`], JSON.stringify(query.body.master_keys));
      assert.deepEqual(query.body.user_signing_keys, {});

      await crypto.resetKeyBackup();
      const backup = await client.getKeyBackupVersion();
      assert.equal(backup?.version, '1');
      assert.equal(backup?.algorithm, 'm.megolm_backup.v1.curve25519-aes-sha2');
      const trust = await crypto.isKeyBackupTrusted(backup!);
      assert.deepEqual(trust, { matchesDecryptionKey: true, trusted: true });
    } finally {
      client.stopClient();
    }
  });
});

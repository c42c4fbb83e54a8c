/** federation/keys: our key document, the notary endpoints, the key ring and event signature checks, over real HTTP. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { createServerKeys, REQUEST_SIGNATURE, type KeyUse } from '../federation/keys';
import { MAX_KEY_VALIDITY_MS } from '../federation/keys/key-validity';
import { generateConfig } from '../server/config/generate';
import { loadConfigFile } from '../server/config/load';
import type { Config } from '../server/config/schema';
import { generateSigningKey } from '../server/config/signing-key';
import { rotateSigningKey } from '../server/cli/rotate-signing-key';
import { canonicalJsonBytes } from '../spec/canonical-json';
import type { Pdu } from '../spec/pdu';
import { roomVersion, type RoomVersion } from '../spec/room-versions';
import type { ServerKeysDocument } from '../spec/schemas/server-keys';
import { signEvent, signingKeyPair, signJson, type SigningKeyPair } from '../spec/signing';
import { decodeBase64, parseSigningKey } from '../spec/signing-key';
import { Clock, httpKeyFetch, startFakeServer, startKeyServer, type KeyServer } from './helpers/key-server';
import { expectError, request } from './helpers/server';

const DAY = 24 * 60 * 60 * 1000;

/** Checks a signature the way another implementation would: tweetnacl over the canonical JSON. */
function naclVerifies(json: Record<string, any>, server: string, keyId: string, publicKey: string): boolean {
  const { signatures, unsigned: _unsigned, ...signed } = json;
  const signature = signatures?.[server]?.[keyId];
  if (typeof signature !== 'string') return false;
  return nacl.sign.detached.verify(canonicalJsonBytes(signed), decodeBase64(signature)!, decodeBase64(publicKey)!);
}

const keyPair = (config: Config): SigningKeyPair => signingKeyPair(parseSigningKey(config.signing_key));
const version = (id: string): RoomVersion => roomVersion(id)!;
const eventUse = (id: string): KeyUse => ({ purpose: 'event', roomVersion: version(id) });

describe('federation: server keys', () => {
  const running: KeyServer[] = [];
  const start = async (...args: Parameters<typeof startKeyServer>) => {
    const server = await startKeyServer(...args);
    running.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  describe('GET /_matrix/key/v2/server', () => {
    it('answers with our key, self-signed (as tweetnacl verifies) and valid for key_validity_ms', async () => {
      const clock = new Clock();
      const a = await start({ clock, overrides: { federation: { key_validity_ms: 3_600_000 } } });
      const res = await request(a.baseUrl, 'GET', '/_matrix/key/v2/server');
      assert.equal(res.status, 200);
      const key = keyPair(a.config);
      assert.equal(res.body.server_name, a.serverName);
      assert.deepEqual(res.body.verify_keys, { [key.keyId]: { key: key.publicKeyBase64 } });
      assert.deepEqual(res.body.old_verify_keys, {});
      assert.equal(res.body.valid_until_ts, clock.ms + 3_600_000);
      assert.deepEqual(Object.keys(res.body.signatures), [a.serverName]);
      assert.ok(naclVerifies(res.body, a.serverName, key.keyId, key.publicKeyBase64));
      // The public key is the seed's, as tweetnacl derives it.
      assert.equal(Buffer.from(nacl.sign.keyPair.fromSeed(parseSigningKey(a.config.signing_key).seed).publicKey).toString('base64').replace(/=+$/, ''), key.publicKeyBase64);

      const deprecated = await request(a.baseUrl, 'GET', `/_matrix/key/v2/server/${encodeURIComponent(key.keyId)}`);
      assert.deepEqual(deprecated.body, res.body);
    });

    it('is signed once, and again only when half its validity has gone', async () => {
      const clock = new Clock();
      const a = await start({ clock, overrides: { federation: { key_validity_ms: 3_600_000 } } });
      const first = (await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body;
      clock.advance(1_799_000);
      assert.deepEqual((await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body, first);
      clock.advance(1000);
      const second = (await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body;
      assert.equal(second.valid_until_ts, clock.ms + 3_600_000);
      assert.notEqual(second.signatures[a.serverName][keyPair(a.config).keyId], first.signatures[a.serverName][keyPair(a.config).keyId]);
    });

    it('lists the key weft rotate-signing-key replaced in old_verify_keys, signed by the new key only', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'weft-keys-'));
      try {
        const file = join(dir, 'config.yaml');
        const before = generateSigningKey();
        writeFileSync(file, generateConfig({ serverName: 'localhost', signingKey: before }));
        const rotatedAt = Date.now() - 1000;
        const newKeyId = rotateSigningKey(file, rotatedAt);
        const rotated = loadConfigFile(file, {});
        const old = signingKeyPair(parseSigningKey(before));
        assert.equal(parseSigningKey(rotated.signing_key).keyId, newKeyId);

        const a = await start({ overrides: { signing_key: rotated.signing_key, old_signing_keys: rotated.old_signing_keys } });
        const doc = (await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body;
        const current = keyPair(a.config);
        assert.deepEqual(doc.verify_keys, { [newKeyId]: { key: current.publicKeyBase64 } });
        assert.deepEqual(doc.old_verify_keys, { [old.keyId]: { key: old.publicKeyBase64, expired_ts: rotatedAt } });
        assert.deepEqual(Object.keys(doc.signatures[a.serverName]), [newKeyId]);
        assert.ok(naclVerifies(doc, a.serverName, newKeyId, current.publicKeyBase64));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('notary: /_matrix/key/v2/query', () => {
    it('GET answers with the server\'s own document, signed by it and by the notary', async () => {
      const a = await start();
      const notary = await start();
      const res = await request(notary.baseUrl, 'GET', `/_matrix/key/v2/query/${a.serverName}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.server_keys.length, 1);
      const [doc] = res.body.server_keys;
      const aKey = keyPair(a.config);
      const notaryKey = keyPair(notary.config);
      assert.equal(doc.server_name, a.serverName);
      assert.deepEqual(doc.verify_keys, { [aKey.keyId]: { key: aKey.publicKeyBase64 } });
      assert.ok(naclVerifies(doc, a.serverName, aKey.keyId, aKey.publicKeyBase64), 'the origin\'s signature');
      assert.ok(naclVerifies(doc, notary.serverName, notaryKey.keyId, notaryKey.publicKeyBase64), 'the notary\'s signature');
      // The origin's signature is on the very document the origin serves.
      const direct = (await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body;
      assert.deepEqual(doc.signatures[a.serverName], direct.signatures[a.serverName]);
    });

    it('POST answers for several servers, our own included, with what it holds while valid long enough', async () => {
      const clock = new Clock();
      const a = await start({ clock });
      const notary = await start({ clock });
      const aKey = keyPair(a.config);
      const body = {
        server_keys: {
          [a.serverName]: { [aKey.keyId]: { minimum_valid_until_ts: clock.ms + 1000 } },
          [notary.serverName]: {},
        },
      };
      const res = await request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { body });
      assert.equal(res.status, 200);
      const byServer = new Map<string, any>(res.body.server_keys.map((d: any) => [d.server_name, d]));
      assert.deepEqual([...byServer.keys()].sort(), [a.serverName, notary.serverName].sort());
      const notaryKey = keyPair(notary.config);
      assert.ok(naclVerifies(byServer.get(a.serverName), a.serverName, aKey.keyId, aKey.publicKeyBase64));
      assert.ok(naclVerifies(byServer.get(a.serverName), notary.serverName, notaryKey.keyId, notaryKey.publicKeyBase64));
      assert.ok(naclVerifies(byServer.get(notary.serverName), notary.serverName, notaryKey.keyId, notaryKey.publicKeyBase64));
      assert.deepEqual(notary.fetch.calls, [`server ${a.serverName}`]);

      // Held and still valid: no new fetch.
      await request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { body });
      assert.equal(notary.fetch.calls.length, 1);
      // Asked for validity beyond what it holds: it fetches again.
      const later = { server_keys: { [a.serverName]: { [aKey.keyId]: { minimum_valid_until_ts: clock.ms + 2 * DAY } } } };
      clock.advance(60_000);
      const again = await request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { body: later });
      assert.equal(again.body.server_keys.length, 1);
      assert.equal(notary.fetch.calls.length, 2);
    });

    it('serves what it holds when the server goes down, and nothing for a server never reached', async () => {
      const a = await start();
      const notary = await start();
      const before = await request(notary.baseUrl, 'GET', `/_matrix/key/v2/query/${a.serverName}`);
      await a.goDown();
      const after = await request(notary.baseUrl, 'GET', `/_matrix/key/v2/query/${a.serverName}?minimum_valid_until_ts=${Date.now() + 2 * DAY}`);
      assert.equal(after.status, 200);
      assert.deepEqual(after.body, before.body);

      const nobody = await start();
      await nobody.goDown();
      const none = await request(notary.baseUrl, 'GET', `/_matrix/key/v2/query/${nobody.serverName}`);
      assert.deepEqual(none.body, { server_keys: [] });
      const batch = await request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { body: { server_keys: { [nobody.serverName]: {}, 'not a name': {} } } });
      assert.deepEqual(batch.body, { server_keys: [] });
      assert.deepEqual((await request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { body: { server_keys: {} } })).body, { server_keys: [] });
    });

    it('refuses malformed queries', async () => {
      const notary = await start();
      const post = (body: unknown) => request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { body });
      expectError(await post({}), 400, 'M_MISSING_PARAM');
      expectError(await post({ server_keys: [] }), 400, 'M_BAD_JSON');
      expectError(await post({ server_keys: { 'a.example': { 'ed25519:k': 'soon' } } }), 400, 'M_BAD_JSON');
      expectError(await post({ server_keys: { 'a.example': { 'ed25519:k': { minimum_valid_until_ts: 'soon' } } } }), 400, 'M_BAD_JSON');
      expectError(await request(notary.baseUrl, 'POST', '/_matrix/key/v2/query', { rawBody: '{"server_keys":' }), 400, 'M_NOT_JSON');
      const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`s${i}.example`, {}]));
      expectError(await post({ server_keys: many }), 400, 'M_INVALID_PARAM');
      expectError(await request(notary.baseUrl, 'GET', '/_matrix/key/v2/query/a.example?minimum_valid_until_ts=soon'), 400, 'M_INVALID_PARAM');
      expectError(await request(notary.baseUrl, 'GET', `/_matrix/key/v2/query/${encodeURIComponent('bad name')}`), 400, 'M_INVALID_PARAM');
      expectError(await request(notary.baseUrl, 'PUT', '/_matrix/key/v2/query', { body: {} }), 405, 'M_UNRECOGNIZED');
    });
  });

  describe('key ring', () => {
    it('fetches a server\'s keys once, keeps them in the database, and checks validity against valid_until_ts', async () => {
      const a = await start();
      const b = await start();
      const aKey = keyPair(a.config);
      const now = Date.now();
      assert.equal(await b.keys.keyRing.publicKey(a.serverName, aKey.keyId, now, REQUEST_SIGNATURE), aKey.publicKeyBase64);
      assert.equal(await b.keys.keyRing.publicKey(a.serverName, aKey.keyId, now + 1000, REQUEST_SIGNATURE), aKey.publicKeyBase64);
      assert.deepEqual(b.fetch.calls, [`server ${a.serverName}`]);
      const rows = await b.weft.hs.services.stores.serverKeys.keysOf(a.serverName);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].publicKey, aKey.publicKeyBase64);
      assert.equal(rows[0].expiredTs, null);
      const stored = JSON.parse(rows[0].keyJson) as ServerKeysDocument;
      assert.ok(naclVerifies(stored, a.serverName, aKey.keyId, aKey.publicKeyBase64));

      // Another key ring over the same database needs no fetch, even with the server gone.
      await a.goDown();
      const fetch = httpKeyFetch(b.config);
      const other = createServerKeys({ config: b.config, stores: b.weft.hs.services.stores, fetch });
      assert.equal(await other.keyRing.publicKey(a.serverName, aKey.keyId, now, REQUEST_SIGNATURE), aKey.publicKeyBase64);
      assert.deepEqual(fetch.calls, []);
      // A signature made after valid_until_ts needs a fresher copy, which cannot be had.
      assert.equal(await other.keyRing.publicKey(a.serverName, aKey.keyId, rows[0].validUntilTs + 1, REQUEST_SIGNATURE), undefined);
      assert.deepEqual(fetch.calls, [`server ${a.serverName}`]);
      // Room versions 1 to 4 ignore valid_until_ts; 5 and later do not.
      assert.equal(await other.keyRing.publicKey(a.serverName, aKey.keyId, rows[0].validUntilTs + 1, eventUse('4')), aKey.publicKeyBase64);
      assert.equal(await other.keyRing.publicKey(a.serverName, aKey.keyId, rows[0].validUntilTs + 1, eventUse('5')), undefined);
      // Unknown key IDs are undefined; our own keys need no fetch.
      assert.equal(await other.keyRing.publicKey(a.serverName, 'ed25519:nope', now, REQUEST_SIGNATURE), undefined);
      assert.equal(await other.keyRing.publicKey(b.serverName, keyPair(b.config).keyId, now, REQUEST_SIGNATURE), keyPair(b.config).publicKeyBase64);
    });

    it('refuses a document with a bad self-signature, another server\'s name, or a verify key that did not sign', async () => {
      const a = await start();
      const b = await start();
      const genuine = (await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body as ServerKeysDocument;
      const aKey = keyPair(a.config);
      const forger = signingKeyPair({ keyId: 'ed25519:forged', seed: Buffer.alloc(32, 9) });

      const forgeries: [string, (serverName: string) => unknown][] = [
        ['a tampered document', (name) => ({ ...signJson({ ...genuine, signatures: {}, server_name: name }, name, aKey), valid_until_ts: genuine.valid_until_ts + DAY })],
        ['another server\'s genuine document', () => genuine],
        ['a document signed by one of its two verify keys', (name) => signJson(
          { server_name: name, valid_until_ts: Date.now() + DAY, verify_keys: { [aKey.keyId]: { key: aKey.publicKeyBase64 }, [forger.keyId]: { key: forger.publicKeyBase64 } } },
          name,
          forger,
        )],
        ['a document without verify_keys', (name) => signJson({ server_name: name, valid_until_ts: Date.now() + DAY }, name, aKey)],
        ['no JSON object', () => ['keys']],
      ];
      for (const [what, forge] of forgeries) {
        const fake = await startFakeServer(() => forge(fake.serverName));
        try {
          for (const keyId of [aKey.keyId, forger.keyId]) {
            assert.equal(await b.keys.keyRing.publicKey(fake.serverName, keyId, Date.now(), REQUEST_SIGNATURE), undefined, what);
          }
          assert.deepEqual(await b.weft.hs.services.stores.serverKeys.keysOf(fake.serverName), [], what);
          assert.ok(b.fetch.calls.includes(`server ${fake.serverName}`), what);
        } finally {
          await fake.stop();
        }
      }
      // The same server, honest, is believed (the check is not simply refusing everything from fakes).
      const honest = await startFakeServer(() => signJson({ server_name: honest.serverName, valid_until_ts: Date.now() + DAY, verify_keys: { [forger.keyId]: { key: forger.publicKeyBase64 } } }, honest.serverName, forger));
      try {
        assert.equal(await b.keys.keyRing.publicKey(honest.serverName, forger.keyId, Date.now(), REQUEST_SIGNATURE), forger.publicKeyBase64);
      } finally {
        await honest.stop();
      }
    });

    it('fetches keys again once valid_until_ts has passed, and after 7 days whatever valid_until_ts says', async () => {
      const clock = new Clock();
      const a = await start({ clock, overrides: { federation: { key_validity_ms: 3_600_000 } } });
      const b = await start({ clock });
      const aKey = keyPair(a.config);
      const ring = b.keys.keyRing;
      assert.equal(await ring.publicKey(a.serverName, aKey.keyId, clock.ms, REQUEST_SIGNATURE), aKey.publicKeyBase64);
      clock.advance(3_000_000);
      assert.equal(await ring.publicKey(a.serverName, aKey.keyId, clock.ms, REQUEST_SIGNATURE), aKey.publicKeyBase64);
      assert.equal(b.fetch.calls.length, 1);
      clock.advance(700_000); // past the valid_until_ts of the copy held
      assert.equal(await ring.publicKey(a.serverName, aKey.keyId, clock.ms, REQUEST_SIGNATURE), aKey.publicKeyBase64);
      assert.equal(b.fetch.calls.length, 2);
      const [row] = await b.weft.hs.services.stores.serverKeys.keysOf(a.serverName);
      assert.equal(row.validUntilTs, clock.ms + 3_600_000);

      const c = await start({ clock, overrides: { federation: { key_validity_ms: 30 * DAY } } });
      const cKey = keyPair(c.config);
      assert.equal(await ring.publicKey(c.serverName, cKey.keyId, clock.ms, REQUEST_SIGNATURE), cKey.publicKeyBase64);
      const fetched = clock.ms;
      clock.advance(MAX_KEY_VALIDITY_MS);
      assert.equal(await ring.publicKey(c.serverName, cKey.keyId, clock.ms, REQUEST_SIGNATURE), cKey.publicKeyBase64);
      assert.equal(b.fetch.calls.filter((call) => call.includes(c.serverName)).length, 1);
      clock.advance(1);
      assert.equal(await ring.publicKey(c.serverName, cKey.keyId, clock.ms, REQUEST_SIGNATURE), cKey.publicKeyBase64);
      assert.equal(b.fetch.calls.filter((call) => call.includes(c.serverName)).length, 2);
      const [cRow] = await b.weft.hs.services.stores.serverKeys.keysOf(c.serverName);
      assert.equal(cRow.validUntilTs, fetched + 30 * DAY);
      assert.equal(cRow.fetchedTs, clock.ms);
    });

    it('keeps for each key the response valid until latest: an older one replayed does not revive a retired key', async () => {
      const b = await start();
      const store = b.weft.hs.services.stores.serverKeys;
      const response = (validUntilTs: number, expiredTs: number | null, fetchedTs: number) => ({
        serverName: 'old.example',
        validUntilTs,
        fetchedTs,
        keyJson: JSON.stringify({ valid_until_ts: validUntilTs }),
        keys: [{ keyId: 'ed25519:k', publicKey: 'cHVibGlj', expiredTs }],
      });
      await store.storeResponse(response(2000, 1500, 10));
      await store.storeResponse(response(1000, null, 20));
      assert.deepEqual(
        (await store.keysOf('old.example')).map((r) => [r.validUntilTs, r.expiredTs, r.fetchedTs]),
        [[2000, 1500, 10]],
      );
      await store.storeResponse(response(2000, 1500, 30));
      await store.storeResponse(response(3000, null, 40));
      assert.deepEqual(
        (await store.keysOf('old.example')).map((r) => [r.validUntilTs, r.expiredTs, r.fetchedTs, r.keyJson]),
        [[3000, null, 40, '{"valid_until_ts":3000}']],
      );
    });

    it('shares one fetch among concurrent lookups, and leaves a dead server alone for a while', async () => {
      const clock = new Clock();
      const a = await start({ clock });
      const b = await start({ clock });
      const aKey = keyPair(a.config);
      const keys = await Promise.all(Array.from({ length: 8 }, () => b.keys.keyRing.publicKey(a.serverName, aKey.keyId, clock.ms, REQUEST_SIGNATURE)));
      assert.deepEqual(new Set(keys), new Set([aKey.publicKeyBase64]));
      assert.deepEqual(b.fetch.calls, [`server ${a.serverName}`]);

      const dead = await start({ clock });
      await dead.goDown();
      const deadKey = keyPair(dead.config).keyId;
      const lookUp = () => b.keys.keyRing.publicKey(dead.serverName, deadKey, clock.ms, REQUEST_SIGNATURE);
      assert.deepEqual(await Promise.all([lookUp(), lookUp(), lookUp()]), [undefined, undefined, undefined]);
      assert.equal(await lookUp(), undefined);
      const deadCalls = () => b.fetch.calls.filter((call) => call === `server ${dead.serverName}`).length;
      assert.equal(deadCalls(), 1);
      clock.advance(59_000);
      assert.equal(await lookUp(), undefined);
      assert.equal(deadCalls(), 1);
      clock.advance(2000);
      assert.equal(await lookUp(), undefined);
      assert.equal(deadCalls(), 2);
    });

    it('asks the trusted notaries when the server is down, checking the notary\'s and the server\'s signatures', async () => {
      const a = await start();
      const notary = await start();
      const aKey = keyPair(a.config);
      const notaryKey = keyPair(notary.config);
      // The notary learns a's keys while a is up.
      assert.equal((await request(notary.baseUrl, 'GET', `/_matrix/key/v2/query/${a.serverName}`)).body.server_keys.length, 1);
      await a.goDown();

      const viaNotary = async (trusted: Config['federation']['trusted_key_servers']) => {
        const b = await start({ overrides: { federation: { trusted_key_servers: trusted } } });
        const key = await b.keys.keyRing.publicKey(a.serverName, aKey.keyId, Date.now(), REQUEST_SIGNATURE);
        return { key, b };
      };
      // Unpinned: the notary's keys come from the notary itself.
      const unpinned = await viaNotary([{ server_name: notary.serverName }]);
      assert.equal(unpinned.key, aKey.publicKeyBase64);
      assert.deepEqual(unpinned.b.fetch.calls, [`server ${a.serverName}`, `notary ${notary.serverName}`, `server ${notary.serverName}`]);
      const [row] = await unpinned.b.weft.hs.services.stores.serverKeys.keysOf(a.serverName);
      assert.deepEqual(Object.keys(JSON.parse(row.keyJson).signatures), [a.serverName], 'stored with the origin\'s signature only');
      // Pinned: the right key, then a wrong one.
      const pinned = await viaNotary([{ server_name: notary.serverName, verify_keys: { [notaryKey.keyId]: notaryKey.publicKeyBase64 } }]);
      assert.equal(pinned.key, aKey.publicKeyBase64);
      assert.deepEqual(pinned.b.fetch.calls, [`server ${a.serverName}`, `notary ${notary.serverName}`]);
      const wrong = signingKeyPair({ keyId: notaryKey.keyId, seed: Buffer.alloc(32, 3) });
      const mispinned = await viaNotary([{ server_name: notary.serverName, verify_keys: { [notaryKey.keyId]: wrong.publicKeyBase64 } }]);
      assert.equal(mispinned.key, undefined);
      // A dead notary, then a good one: the next is tried.
      const deadNotary = await start();
      await deadNotary.goDown();
      const second = await viaNotary([{ server_name: deadNotary.serverName }, { server_name: notary.serverName }]);
      assert.equal(second.key, aKey.publicKeyBase64);
    });

    it('refuses a notary\'s document whose origin signature does not hold, even signed by the notary', async () => {
      const a = await start();
      const genuine = (await request(a.baseUrl, 'GET', '/_matrix/key/v2/server')).body as ServerKeysDocument;
      const aKey = keyPair(a.config);
      await a.goDown();
      const notaryKey = signingKeyPair({ keyId: 'ed25519:notary', seed: Buffer.alloc(32, 5) });
      let tamper = true;
      const fake = await startFakeServer(() => {
        const served = tamper ? { ...genuine, valid_until_ts: genuine.valid_until_ts + 30 * DAY } : genuine;
        return { server_keys: [signJson(served, fake.serverName, notaryKey)] };
      });
      try {
        const trusted = [{ server_name: fake.serverName, verify_keys: { [notaryKey.keyId]: notaryKey.publicKeyBase64 } }];
        const b = await start({ overrides: { federation: { trusted_key_servers: trusted } } });
        assert.equal(await b.keys.keyRing.publicKey(a.serverName, aKey.keyId, Date.now(), REQUEST_SIGNATURE), undefined);
        assert.deepEqual(b.fetch.calls, [`server ${a.serverName}`, `notary ${fake.serverName}`]);
        const c = await start({ overrides: { federation: { trusted_key_servers: trusted } } });
        tamper = false;
        assert.equal(await c.keys.keyRing.publicKey(a.serverName, aKey.keyId, Date.now(), REQUEST_SIGNATURE), aKey.publicKeyBase64);
      } finally {
        await fake.stop();
      }
    });
  });

  describe('event signatures', () => {
    const event = (sender: string, extra: Partial<Pdu> = {}): Pdu => ({
      room_id: '!room:example.org',
      sender,
      origin_server_ts: Date.now(),
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: 'hello' },
      prev_events: [],
      auth_events: [],
      depth: 1,
      hashes: { sha256: '' },
      signatures: {},
      ...extra,
    });
    const sign = (pdu: Pdu, v: string, server: KeyServer | { serverName: string; key: SigningKeyPair }): Pdu =>
      signEvent(pdu, version(v), server.serverName, 'key' in server ? server.key : keyPair(server.config)) as Pdu;

    it('holds when the sender\'s server signed, with a key valid at origin_server_ts', async () => {
      const a = await start();
      const b = await start();
      const ring = b.keys.keyRing;
      const pdu = sign(event(`@alice:${a.serverName}`), '10', a);
      assert.equal(await ring.verifyEventSignatures(pdu, version('10')), true);
      // The signature covers the redacted event: content outside it may change (the hash check catches that), the rest may not.
      assert.equal(await ring.verifyEventSignatures({ ...pdu, content: { body: 'changed' } }, version('10')), true);
      assert.equal(await ring.verifyEventSignatures({ ...pdu, type: 'm.room.name' }, version('10')), false);
      assert.equal(await ring.verifyEventSignatures({ ...pdu, signatures: {} }, version('10')), false);
      // Signed by another server than the sender's.
      const other = sign(event(`@alice:${b.serverName}`), '10', a);
      await assert.rejects(ring.checkEventSignatures(other, version('10')), /not signed by/);
      // A signature under a key nobody knows is skipped; the known one still counts.
      const stranger = signingKeyPair({ keyId: 'ed25519:policy', seed: Buffer.alloc(32, 1) });
      const extra = { ...pdu, signatures: { [a.serverName]: { ...pdu.signatures[a.serverName], [stranger.keyId]: 'c2ln' } } };
      assert.equal(await ring.verifyEventSignatures(extra, version('10')), true);
      // Only unknown keys: nothing to check it with.
      const onlyStranger = sign(event(`@alice:${a.serverName}`), '10', { serverName: a.serverName, key: stranger });
      await assert.rejects(ring.checkEventSignatures(onlyStranger, version('10')), /no signature by .* with a key valid/);
      // A bad signature under a known key is refused outright.
      const forged = sign(event(`@alice:${a.serverName}`), '10', { serverName: a.serverName, key: signingKeyPair({ keyId: keyPair(a.config).keyId, seed: Buffer.alloc(32, 2) }) });
      await assert.rejects(ring.checkEventSignatures(forged, version('10')), /bad signature/);
    });

    it('needs the event ID\'s server in room versions 1 and 2, and the authorising server of a restricted join', async () => {
      const a = await start();
      const c = await start();
      const b = await start();
      const ring = b.keys.keyRing;
      const v1 = sign(event(`@alice:${a.serverName}`, { event_id: `$abc:${c.serverName}` }), '1', a);
      await assert.rejects(ring.checkEventSignatures(v1, version('1')), new RegExp(`not signed by ${c.serverName}`));
      assert.equal(await ring.verifyEventSignatures(sign(v1, '1', c), version('1')), true);
      const ownId = sign(event(`@alice:${a.serverName}`, { event_id: `$abc:${a.serverName}` }), '1', a);
      assert.equal(await ring.verifyEventSignatures(ownId, version('2')), true);

      const join = event(`@alice:${a.serverName}`, {
        type: 'm.room.member',
        state_key: `@alice:${a.serverName}`,
        content: { membership: 'join', join_authorised_via_users_server: `@mod:${c.serverName}` },
      });
      const joinedByA = sign(join, '10', a);
      await assert.rejects(ring.checkEventSignatures(joinedByA, version('10')), new RegExp(`not signed by ${c.serverName}`));
      assert.equal(await ring.verifyEventSignatures(sign(joinedByA, '10', c), version('10')), true);
      // Before room version 8 the key means nothing.
      assert.equal(await ring.verifyEventSignatures(sign(join, '7', a), version('7')), true);
    });

    it('accepts an old key for events made before its expired_ts, never for requests', async () => {
      const clock = new Clock();
      const previous = parseSigningKey(generateSigningKey());
      const old = signingKeyPair(previous);
      const expiredTs = clock.ms - DAY;
      const a = await start({ clock, overrides: { old_signing_keys: { [old.keyId]: { key: old.publicKeyBase64, expired_ts: expiredTs } } } });
      const b = await start({ clock });
      const ring = b.keys.keyRing;
      const signedBefore = sign(event(`@alice:${a.serverName}`, { origin_server_ts: expiredTs - 1 }), '10', { serverName: a.serverName, key: old });
      const signedAfter = sign(event(`@alice:${a.serverName}`, { origin_server_ts: expiredTs + 1 }), '10', { serverName: a.serverName, key: old });
      assert.equal(await ring.verifyEventSignatures(signedBefore, version('10')), true);
      assert.equal(await ring.verifyEventSignatures(signedAfter, version('10')), false);
      assert.equal(await ring.verifyEventSignatures(signedAfter, version('3')), false);
      assert.equal(await ring.publicKey(a.serverName, old.keyId, expiredTs - 1, REQUEST_SIGNATURE), undefined);
      assert.equal(await ring.publicKey(a.serverName, old.keyId, expiredTs - 1, eventUse('10')), old.publicKeyBase64);
      const [row] = (await b.weft.hs.services.stores.serverKeys.keysOf(a.serverName)).filter((r) => r.keyId === old.keyId);
      assert.equal(row.expiredTs, expiredTs);
      // The same for our own old keys, which need no fetch.
      assert.equal(await a.keys.keyRing.verifyEventSignatures(signedBefore, version('10')), true);
      assert.equal(await a.keys.keyRing.verifyEventSignatures(signedAfter, version('10')), false);
    });
  });
});

import assert from 'node:assert/strict';
import nacl from 'tweetnacl';
import { canonicalJsonBytes } from '../spec/canonical-json';
import { MatrixError } from '../spec/errors';
import { redact } from '../spec/redaction';
import { roomVersion, type RoomVersion } from '../spec/room-versions';
import type { Pdu } from '../spec/pdu';
import {
  addEventSignature,
  publicKeyBase64,
  signEvent,
  signingKeyPair,
  signJson,
  verifyEventSignature,
  verifyJsonSignature,
} from '../spec/signing';
import { unpaddedBase64, type SigningKey } from '../spec/signing-key';

/** appendices, "Cryptographic Test Vectors", "Signing Key". */
const SEED = Buffer.from('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1', 'base64');
const SERVER_NAME = 'domain';
const KEY_ID = 'ed25519:1';
const SIGNING_KEY: SigningKey = { keyId: KEY_ID, seed: SEED };
const KEY = signingKeyPair(SIGNING_KEY);
const NACL = nacl.sign.keyPair.fromSeed(SEED);

const version = (id: string): RoomVersion => roomVersion(id)!;
const ALL_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'].map(version);
/** Versions whose redaction keeps the top-level `origin` the vectors carry (all before v11). */
const ORIGIN_KEEPING = ALL_VERSIONS.filter((v) => v.redaction !== 'v11');

/** "Event Signing": the minimally-sized event and what signing must emit. */
const MINIMAL_EVENT = {
  room_id: '!x:domain',
  sender: '@a:domain',
  origin: 'domain',
  origin_server_ts: 1000000,
  signatures: {},
  hashes: {},
  type: 'X',
  content: {},
  prev_events: [],
  auth_events: [],
  depth: 3,
  unsigned: { age_ts: 1000000 },
};
const MINIMAL_SIGNED = {
  auth_events: [],
  content: {},
  depth: 3,
  hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
  origin: 'domain',
  origin_server_ts: 1000000,
  prev_events: [],
  room_id: '!x:domain',
  sender: '@a:domain',
  signatures: {
    domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' },
  },
  type: 'X',
  unsigned: { age_ts: 1000000 },
};

/** "Event Signing": the event with redactable content. */
const MESSAGE_EVENT = {
  content: { body: 'Here is the message content' },
  event_id: '$0:domain',
  origin: 'domain',
  origin_server_ts: 1000000,
  type: 'm.room.message',
  room_id: '!r:domain',
  sender: '@u:domain',
  signatures: {},
  unsigned: { age_ts: 1000000 },
};
const MESSAGE_SIGNED = {
  content: { body: 'Here is the message content' },
  event_id: '$0:domain',
  hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
  origin: 'domain',
  origin_server_ts: 1000000,
  type: 'm.room.message',
  room_id: '!r:domain',
  sender: '@u:domain',
  signatures: {
    domain: { 'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA' },
  },
  unsigned: { age_ts: 1000000 },
};

const asPdu = (event: object): Pdu => event as Pdu;

describe('signing (appendices "Signing JSON", server-server-api "Signing Events")', () => {
  describe('the signing key', () => {
    it('derives the same public key from the test seed as tweetnacl', () => {
      assert.equal(KEY.keyId, KEY_ID);
      assert.equal(KEY.publicKeyBase64, unpaddedBase64(NACL.publicKey));
      assert.equal(publicKeyBase64(SIGNING_KEY), KEY.publicKeyBase64);
      assert.equal(KEY.publicKeyBase64.length, 43);
    });

    it('builds the key objects once per parsed key', () => {
      assert.equal(signingKeyPair(SIGNING_KEY), KEY);
    });

    it('refuses a seed that is not 32 bytes', () => {
      assert.throws(() => signingKeyPair({ keyId: KEY_ID, seed: Buffer.alloc(31) }));
    });
  });

  describe('JSON signing vectors', () => {
    it('signs the empty object byte for byte', () => {
      assert.deepEqual(signJson({}, SERVER_NAME, KEY), {
        signatures: {
          domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' },
        },
      });
    });

    it('signs the object with data values byte for byte', () => {
      assert.deepEqual(signJson({ one: 1, two: 'Two' }, SERVER_NAME, KEY), {
        one: 1,
        signatures: {
          domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' },
        },
        two: 'Two',
      });
    });

    it('verifies the vectors', () => {
      const signed = signJson({ one: 1, two: 'Two' }, SERVER_NAME, KEY);
      assert.ok(verifyJsonSignature(signed, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
    });
  });

  describe('signJson', () => {
    it('neither covers nor drops `unsigned`, and does not modify its input', () => {
      const input = { a: 1, unsigned: { age_ts: 5 } };
      const signed = signJson(input, SERVER_NAME, KEY);
      assert.deepEqual(input, { a: 1, unsigned: { age_ts: 5 } });
      assert.deepEqual(signed.unsigned, { age_ts: 5 });
      assert.equal(signed.signatures.domain[KEY_ID], signJson({ a: 1 }, SERVER_NAME, KEY).signatures.domain[KEY_ID]);
      assert.ok(verifyJsonSignature({ ...signed, unsigned: { age_ts: 999, more: true } }, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
    });

    it('keeps the signatures already there, from other servers and other keys of the same server', () => {
      const input = { a: 1, signatures: { other: { 'ed25519:x': 'sigA' }, domain: { 'ed25519:old': 'sigB' } } };
      const signed = signJson(input, SERVER_NAME, KEY);
      assert.deepEqual(Object.keys(signed.signatures).sort(), ['domain', 'other']);
      assert.equal(signed.signatures.other['ed25519:x'], 'sigA');
      assert.equal(signed.signatures.domain['ed25519:old'], 'sigB');
      // Existing signatures are not covered: the new one equals a signature of the bare object.
      assert.equal(signed.signatures.domain[KEY_ID], signJson({ a: 1 }, SERVER_NAME, KEY).signatures.domain[KEY_ID]);
      assert.deepEqual(input.signatures.domain, { 'ed25519:old': 'sigB' });
    });

    it('signs exactly the canonical JSON bytes, as tweetnacl does', () => {
      const value = { z: [1, 2, { é: '日本', a: null }], a: true, unsigned: { x: 1 } };
      const expected = nacl.sign.detached(canonicalJsonBytes({ z: value.z, a: true }), NACL.secretKey);
      assert.equal(signJson(value, SERVER_NAME, KEY).signatures.domain[KEY_ID], unpaddedBase64(expected));
    });

    it('refuses malformed existing signatures', () => {
      assert.throws(() => signJson({ signatures: { domain: 'nope' } }, SERVER_NAME, KEY), (err: unknown) => err instanceof MatrixError && err.errcode === 'M_BAD_JSON');
      assert.throws(() => signJson({ signatures: [] }, SERVER_NAME, KEY), MatrixError);
    });
  });

  describe('verifyJsonSignature', () => {
    const signed = signJson({ one: 1, two: 'Two' }, SERVER_NAME, KEY);
    const signature = signed.signatures.domain[KEY_ID];
    const other = nacl.sign.keyPair();

    it('accepts signatures made by tweetnacl with another key', () => {
      const value = { hello: 'world', n: [1, 2, 3] };
      const sig = unpaddedBase64(nacl.sign.detached(canonicalJsonBytes(value), other.secretKey));
      const withSig = { ...value, signatures: { 'example.org': { 'ed25519:k': sig } } };
      assert.ok(verifyJsonSignature(withSig, 'example.org', 'ed25519:k', unpaddedBase64(other.publicKey)));
      assert.ok(!verifyJsonSignature(withSig, 'example.org', 'ed25519:k', KEY.publicKeyBase64));
    });

    it('produces signatures tweetnacl verifies', () => {
      const bytes = canonicalJsonBytes({ one: 1, two: 'Two' });
      assert.ok(nacl.sign.detached.verify(bytes, Buffer.from(signature, 'base64'), NACL.publicKey));
    });

    it('fails when the object changed', () => {
      assert.ok(!verifyJsonSignature({ ...signed, one: 2 }, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyJsonSignature({ ...signed, three: 3 }, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
    });

    it('fails without a signature by that server under that key ID', () => {
      assert.ok(!verifyJsonSignature(signed, 'elsewhere', KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyJsonSignature(signed, SERVER_NAME, 'ed25519:2', KEY.publicKeyBase64));
      assert.ok(!verifyJsonSignature({ one: 1, two: 'Two' }, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyJsonSignature({ ...signed, signatures: { domain: [] } }, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyJsonSignature({ ...signed, signatures: { domain: { [KEY_ID]: 5 } } }, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyJsonSignature(signed, 'constructor', KEY_ID, KEY.publicKeyBase64));
    });

    it('fails for algorithms other than ed25519, even with a valid ed25519 signature under that ID', () => {
      const relabelled = { ...signed, signatures: { domain: { 'curve25519:1': signature } } };
      assert.ok(!verifyJsonSignature(relabelled, SERVER_NAME, 'curve25519:1', KEY.publicKeyBase64));
    });

    it('fails with the wrong public key, or one that is not 32 bytes of Base64', () => {
      assert.ok(!verifyJsonSignature(signed, SERVER_NAME, KEY_ID, unpaddedBase64(other.publicKey)));
      assert.ok(!verifyJsonSignature(signed, SERVER_NAME, KEY_ID, KEY.publicKeyBase64.slice(0, 40)));
      assert.ok(!verifyJsonSignature(signed, SERVER_NAME, KEY_ID, '!!not base64!!'));
    });

    it('fails when the signature does not decode to 64 bytes', () => {
      for (const bad of ['', signature.slice(0, 80), signature + 'AAAA', signature.replace(/.$/, '*')]) {
        const withBad = { ...signed, signatures: { domain: { [KEY_ID]: bad } } };
        assert.ok(!verifyJsonSignature(withBad, SERVER_NAME, KEY_ID, KEY.publicKeyBase64), bad);
      }
    });

    it('fails, rather than throwing, for an object that has no canonical JSON', () => {
      const broken = { ...signed, two: 'T\ud800' };
      assert.ok(!verifyJsonSignature(broken, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.throws(() => signJson({ two: 'T\ud800' }, SERVER_NAME, KEY), MatrixError);
    });

    it('accepts padded Base64 signatures and keys', () => {
      const padded = { ...signed, signatures: { domain: { [KEY_ID]: signature + '==' } } };
      assert.ok(verifyJsonSignature(padded, SERVER_NAME, KEY_ID, KEY.publicKeyBase64 + '='));
    });
  });

  describe('event signing vectors', () => {
    for (const v of ORIGIN_KEEPING) {
      it(`signs the minimally-sized event byte for byte (room version ${v.id})`, () => {
        assert.deepEqual(signEvent(MINIMAL_EVENT, v, SERVER_NAME, KEY), MINIMAL_SIGNED);
      });

      it(`signs the event with redactable content byte for byte (room version ${v.id})`, () => {
        assert.deepEqual(signEvent(MESSAGE_EVENT, v, SERVER_NAME, KEY), MESSAGE_SIGNED);
      });
    }

    it('signs differently from v11, whose redaction drops the top-level `origin`, but hashes the same', () => {
      for (const v of ALL_VERSIONS.filter((r) => r.redaction === 'v11')) {
        const signed = signEvent(MINIMAL_EVENT, v, SERVER_NAME, KEY);
        assert.deepEqual(signed.hashes, MINIMAL_SIGNED.hashes);
        assert.notEqual(signed.signatures.domain[KEY_ID], MINIMAL_SIGNED.signatures.domain[KEY_ID]);
        const { origin: _origin, ...withoutOrigin } = MINIMAL_SIGNED;
        const expected = nacl.sign.detached(canonicalJsonBytes({ ...withoutOrigin, signatures: undefined, unsigned: undefined }), NACL.secretKey);
        assert.equal(signed.signatures.domain[KEY_ID], unpaddedBase64(expected));
      }
    });

    it('does not modify the event it signs', () => {
      const input = structuredClone(MESSAGE_EVENT);
      signEvent(input, version('1'), SERVER_NAME, KEY);
      assert.deepEqual(input, MESSAGE_EVENT);
    });
  });

  describe('verifyEventSignature', () => {
    it('verifies the vectors, and their redacted copies', () => {
      for (const v of ORIGIN_KEEPING) {
        for (const signed of [MINIMAL_SIGNED, MESSAGE_SIGNED]) {
          assert.ok(verifyEventSignature(asPdu(signed), v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
          assert.ok(verifyEventSignature(redact(asPdu(signed), v), v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
        }
      }
    });

    it('verifies in every room version what signEvent signed there', () => {
      for (const v of ALL_VERSIONS) {
        const signed = signEvent({ ...MINIMAL_EVENT, content: { body: 'x' } }, v, SERVER_NAME, KEY);
        assert.ok(verifyEventSignature(asPdu(signed), v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64), v.id);
        assert.ok(verifyEventSignature(redact(asPdu(signed), v), v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64), v.id);
      }
    });

    it('ignores changes to redactable content (the content hash catches those) but not to protected keys', () => {
      const v = version('10');
      const signed = asPdu(MESSAGE_SIGNED);
      assert.ok(verifyEventSignature({ ...signed, content: { body: 'changed' } }, v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyEventSignature({ ...signed, sender: '@v:domain' }, v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
      assert.ok(!verifyEventSignature({ ...signed, hashes: { sha256: 'AAAA' } }, v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
    });

    it('fails for an event signed under another room version whose redaction differs', () => {
      assert.ok(!verifyEventSignature(asPdu(MINIMAL_SIGNED), version('11'), SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
    });
  });

  describe('addEventSignature', () => {
    it('countersigns without touching the hashes, keeping the first signature', () => {
      const otherSeed = Buffer.alloc(32, 7);
      const otherKey = signingKeyPair({ keyId: 'ed25519:b', seed: otherSeed });
      const v = version('9');
      const tampered = { ...MESSAGE_SIGNED, content: { body: 'not what was hashed' } };
      const countersigned = addEventSignature(tampered, v, 'other.example', otherKey);
      assert.deepEqual(countersigned.hashes, MESSAGE_SIGNED.hashes);
      assert.deepEqual(countersigned.signatures.domain, MESSAGE_SIGNED.signatures.domain);
      assert.ok(verifyEventSignature(asPdu(countersigned), v, 'other.example', 'ed25519:b', otherKey.publicKeyBase64));
      assert.ok(verifyEventSignature(asPdu(countersigned), v, SERVER_NAME, KEY_ID, KEY.publicKeyBase64));
    });
  });
});

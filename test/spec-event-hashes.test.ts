import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MatrixError } from '../spec/errors';
import {
  addContentHash,
  checkContentHash,
  computeEventId,
  contentHash,
  createEventIdOfRoom,
  referenceHash,
  roomIdOfCreateEvent,
} from '../spec/event-hashes';
import type { Pdu } from '../spec/pdu';
import { redact } from '../spec/redaction';
import { roomVersion, type RoomVersion } from '../spec/room-versions';
import { signEvent, signingKeyPair } from '../spec/signing';

const version = (id: string): RoomVersion => roomVersion(id)!;
const ALL_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'].map(version);
const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');
const b64url = (bytes: Buffer): string => b64(bytes).replace(/\+/g, '-').replace(/\//g, '_');

/** The two events of appendices "Event Signing", whose signed forms give their content hashes. */
const MINIMAL_EVENT = {
  room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000, signatures: {}, hashes: {},
  type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3, unsigned: { age_ts: 1000000 },
};
const MESSAGE_EVENT = {
  content: { body: 'Here is the message content' }, event_id: '$0:domain', origin: 'domain', origin_server_ts: 1000000,
  type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', signatures: {}, unsigned: { age_ts: 1000000 },
};

/** A message in a v3+ room, with everything the reference hash must and must not cover. */
function message(ts: number): Pdu {
  return {
    room_id: '!room:example.org',
    sender: '@alice:example.org',
    origin: 'example.org',
    origin_server_ts: ts,
    type: 'm.room.message',
    content: { body: 'hello', msgtype: 'm.text' },
    prev_events: ['$prev'],
    auth_events: ['$create', '$member'],
    depth: 7,
    hashes: { sha256: 'claimed' },
    signatures: { 'example.org': { 'ed25519:a': 'sig' } },
    unsigned: { age: 5 },
  };
}

/** The redacted form of message(ts) without signatures and unsigned, as canonical JSON written out by hand. */
function messageReferenceJson(ts: number, keepOrigin: boolean): string {
  const origin = keepOrigin ? '"origin":"example.org",' : '';
  return `{"auth_events":["$create","$member"],"content":{},"depth":7,"hashes":{"sha256":"claimed"},${origin}"origin_server_ts":${ts},"prev_events":["$prev"],"room_id":"!room:example.org","sender":"@alice:example.org","type":"m.room.message"}`;
}

/** A timestamp whose v3 event ID has `+` or `/`, so the two Base64 alphabets differ. */
const TS = (() => {
  for (let ts = 1_600_000_000_000; ; ts++) {
    if (/[+/]/.test(b64(sha256(messageReferenceJson(ts, true))))) return ts;
  }
})();

describe('event hashes and IDs (server-server-api "Signing Events"; rooms/ event IDs)', () => {
  describe('content hash', () => {
    it('matches the hashes of the appendix event signing vectors', () => {
      assert.equal(b64(contentHash(MINIMAL_EVENT)), '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos');
      assert.equal(b64(contentHash(MESSAGE_EVENT)), 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
    });

    it('is the SHA-256 of the canonical JSON without unsigned, signatures and hashes', () => {
      const expected = sha256('{"auth_events":[],"content":{},"depth":3,"origin":"domain","origin_server_ts":1000000,"prev_events":[],"room_id":"!x:domain","sender":"@a:domain","type":"X"}');
      assert.deepEqual(contentHash(MINIMAL_EVENT), expected);
      assert.deepEqual(contentHash({ ...MINIMAL_EVENT, unsigned: { age: 1 }, signatures: { x: {} }, hashes: { sha256: 'x' } }), expected);
    });

    it('covers the unredacted content', () => {
      assert.notDeepEqual(contentHash(MESSAGE_EVENT), contentHash({ ...MESSAGE_EVENT, content: { body: 'other' } }));
      assert.notDeepEqual(contentHash(MESSAGE_EVENT), contentHash({ ...MESSAGE_EVENT, extra: 1 }));
    });

    it('addContentHash sets hashes.sha256 on a copy, keeping other algorithms', () => {
      const input = { ...MINIMAL_EVENT, hashes: { sha512: 'other' } };
      const hashed = addContentHash(input);
      assert.deepEqual(hashed.hashes, { sha512: 'other', sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' });
      assert.deepEqual(input.hashes, { sha512: 'other' });
      assert.deepEqual(addContentHash({ a: 1 }).hashes, { sha256: b64(sha256('{"a":1}')) });
    });

    it('checkContentHash compares the decoded hash, padded or not', () => {
      const hashed = addContentHash(MESSAGE_EVENT) as unknown as Pdu;
      assert.ok(checkContentHash(hashed));
      assert.ok(checkContentHash({ ...hashed, hashes: { sha256: hashed.hashes.sha256 + '=' } }));
      assert.ok(checkContentHash({ ...hashed, unsigned: { changed: true } }));
      assert.ok(!checkContentHash({ ...hashed, content: { body: 'tampered' } }));
      assert.ok(!checkContentHash({ ...hashed, hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2m/g' } }));
      // The last of 43 characters carries 4 bits of the hash and 2 of padding: compared decoded, 'h' equals 'g'.
      assert.ok(checkContentHash({ ...hashed, hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/h' } }));
      assert.ok(!checkContentHash({ ...hashed, hashes: { sha256: 'not base64!' } }));
      assert.ok(!checkContentHash({ ...hashed, hashes: {} as Pdu['hashes'] }));
    });

    it('fails the hash of a redacted copy, whose signature still holds', () => {
      const key = signingKeyPair({ keyId: 'ed25519:1', seed: Buffer.alloc(32, 1) });
      const signed = signEvent(MESSAGE_EVENT, version('5'), 'domain', key) as unknown as Pdu;
      assert.ok(checkContentHash(signed));
      assert.ok(!checkContentHash(redact(signed, version('5'))));
    });
  });

  describe('reference hash', () => {
    it('is the SHA-256 of the redacted event without signatures and unsigned', () => {
      for (const v of ALL_VERSIONS) {
        const keepsOrigin = v.redaction !== 'v11';
        assert.deepEqual(referenceHash(message(TS), v), sha256(messageReferenceJson(TS, keepsOrigin)), v.id);
      }
    });

    it('drops a top-level age_ts and every other key the redaction drops', () => {
      const v = version('4');
      const event = { ...message(TS), age_ts: 5, extra: { x: 1 }, content: { body: 'other' } };
      assert.deepEqual(referenceHash(event, v), referenceHash(message(TS), v));
    });

    it('covers the content hash', () => {
      assert.notDeepEqual(referenceHash({ ...message(TS), hashes: { sha256: 'other' } }, version('4')), referenceHash(message(TS), version('4')));
    });
  });

  describe('computeEventId', () => {
    it('v1-v2: the event_id the event carries', () => {
      for (const v of [version('1'), version('2')]) {
        assert.equal(computeEventId({ ...message(TS), event_id: '$abc:example.org' }, v), '$abc:example.org');
        assert.throws(() => computeEventId(message(TS), v), (err: unknown) => err instanceof MatrixError && err.errcode === 'M_BAD_JSON');
      }
    });

    it('v3: $ and the reference hash in standard unpadded Base64', () => {
      const id = computeEventId(message(TS), version('3'));
      assert.equal(id, '$' + b64(sha256(messageReferenceJson(TS, true))));
      assert.match(id, /^\$[A-Za-z0-9+/]{43}$/);
      assert.match(id, /[+/]/);
    });

    it('v4+: $ and the reference hash in URL-safe unpadded Base64', () => {
      for (const v of ALL_VERSIONS.filter((r) => Number(r.id) >= 4)) {
        const expected = '$' + b64url(sha256(messageReferenceJson(TS, v.redaction !== 'v11')));
        const id = computeEventId(message(TS), v);
        assert.equal(id, expected, v.id);
        assert.match(id, /^\$[A-Za-z0-9_-]{43}$/);
      }
      assert.equal(computeEventId(message(TS), version('4')), computeEventId(message(TS), version('3')).replace(/\+/g, '-').replace(/\//g, '_'));
    });

    it('is the same for the full event, a redacted copy, and a copy with other signatures or unsigned data', () => {
      for (const v of ALL_VERSIONS.filter((r) => r.eventIdFormat !== 'v1')) {
        const id = computeEventId(message(TS), v);
        assert.equal(computeEventId(redact(message(TS), v), v), id);
        assert.equal(computeEventId({ ...message(TS), signatures: { 'other.org': { 'ed25519:z': 'x' } }, unsigned: {} }, v), id);
        assert.notEqual(computeEventId({ ...message(TS), origin_server_ts: TS + 1 }, v), id);
      }
    });

    it('covers an event_id field even in v3+ rooms, since every redaction algorithm keeps it', () => {
      const v = version('10');
      assert.notEqual(computeEventId({ ...message(TS), event_id: '$x' }, v), computeEventId(message(TS), v));
    });
  });

  describe('room IDs', () => {
    const create = (roomId?: string): Pdu => ({
      ...(roomId === undefined ? {} : { room_id: roomId }),
      sender: '@alice:example.org',
      origin_server_ts: 1,
      type: 'm.room.create',
      state_key: '',
      content: { room_version: '12' },
      prev_events: [],
      auth_events: [],
      depth: 1,
      hashes: { sha256: 'h' },
      signatures: {},
    });

    it('v12: the create event ID with ! for $', () => {
      const v = version('12');
      const eventId = computeEventId(create(), v);
      const roomId = roomIdOfCreateEvent(create(), v);
      assert.equal(roomId, '!' + eventId.slice(1));
      assert.equal(roomId, '!' + b64url(sha256('{"auth_events":[],"content":{"room_version":"12"},"depth":1,"hashes":{"sha256":"h"},"origin_server_ts":1,"prev_events":[],"sender":"@alice:example.org","state_key":"","type":"m.room.create"}')));
      assert.equal(createEventIdOfRoom(roomId, v), eventId);
    });

    it('before v12: the room_id the create event carries, and no create event ID derivable from it', () => {
      for (const v of ALL_VERSIONS.filter((r) => r.eventFormat !== 'v12')) {
        assert.equal(roomIdOfCreateEvent({ ...create('!abc:example.org'), event_id: '$c:example.org' }, v), '!abc:example.org');
        assert.equal(createEventIdOfRoom('!abc:example.org', v), undefined);
        assert.throws(() => roomIdOfCreateEvent({ ...create(), event_id: '$c:example.org' }, v), MatrixError);
      }
    });
  });
});

import assert from 'node:assert/strict';
import { canonicalJson } from '../spec/canonical-json';
import { MatrixError } from '../spec/errors';
import { checkEventFormat, MAX_PDU_BYTES } from '../spec/event-format';
import { roomVersion, type RoomVersion } from '../spec/room-versions';

const version = (id: string): RoomVersion => roomVersion(id)!;
const ALL_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'].map(version);
const LENIENT_VERSIONS = ALL_VERSIONS.filter((v) => !v.strictCanonicalJson);
const STRICT_VERSIONS = ALL_VERSIONS.filter((v) => v.strictCanonicalJson);

type Json = Record<string, unknown>;

/** A valid message event in the format of the room version. */
function valid(v: RoomVersion, overrides: Json = {}): Json {
  const v1Refs = v.eventIdFormat === 'v1';
  return {
    ...(v1Refs ? { event_id: '$msg:example.org' } : {}),
    room_id: '!room:example.org',
    sender: '@alice:example.org',
    origin_server_ts: 1_700_000_000_000,
    type: 'm.room.message',
    content: { body: 'hi', msgtype: 'm.text' },
    prev_events: v1Refs ? [['$prev:example.org', { sha256: 'aGFzaA' }]] : ['$prev'],
    auth_events: v1Refs ? [['$create:example.org', { sha256: 'aGFzaA' }]] : ['$create', '$member'],
    depth: 5,
    hashes: { sha256: 'aGFzaA' },
    signatures: { 'example.org': { 'ed25519:a': 'c2ln' } },
    unsigned: { age: 10 },
    ...overrides,
  };
}

function without(event: Json, key: string): Json {
  const copy = { ...event };
  delete copy[key];
  return copy;
}

function assertRefused(event: unknown, v: RoomVersion, errcode: 'M_BAD_JSON' | 'M_TOO_LARGE', mentions: RegExp): void {
  assert.throws(() => checkEventFormat(event, v), (err: unknown) => {
    assert.ok(err instanceof MatrixError, `expected a MatrixError, got ${String(err)}`);
    assert.equal(err.errcode, errcode, `${err.errcode}: ${err.message}`);
    assert.equal(err.status, errcode === 'M_TOO_LARGE' ? 413 : 400);
    assert.match(err.message, mentions);
    return true;
  }, `room version ${v.id}`);
}

const accepts = (event: unknown, v: RoomVersion): void => assert.doesNotThrow(() => checkEventFormat(event, v), `room version ${v.id}`);

/** A string of exactly `bytes` UTF-8 bytes starting with `prefix`. */
const ofBytes = (prefix: string, bytes: number, filler = 'a'): string => prefix + filler.repeat(bytes - Buffer.byteLength(prefix));

describe('event format checks (PDU schemas of rooms/, client-server-api "Size limits")', () => {
  it('accepts a well-formed event in every room version', () => {
    for (const v of ALL_VERSIONS) accepts(valid(v), v);
  });

  it('accepts state events and events without unsigned', () => {
    for (const v of ALL_VERSIONS) {
      accepts(valid(v, { type: 'm.room.name', state_key: '', content: { name: 'x' } }), v);
      accepts(without(valid(v), 'unsigned'), v);
    }
  });

  it('refuses what is not an object', () => {
    for (const bad of [null, [], 'event', 5]) assertRefused(bad, version('10'), 'M_BAD_JSON', /object/);
  });

  describe('required keys and their types', () => {
    const required = ['sender', 'origin_server_ts', 'type', 'content', 'depth', 'hashes', 'signatures', 'prev_events', 'auth_events', 'room_id'];
    for (const key of required) {
      it(`refuses an event without \`${key}\``, () => {
        for (const v of ALL_VERSIONS) assertRefused(without(valid(v), key), v, 'M_BAD_JSON', new RegExp(key));
      });
    }

    const wrongTypes: Array<[string, unknown]> = [
      ['sender', 5], ['type', null], ['state_key', 0], ['room_id', ['!r']], ['origin_server_ts', '1'],
      ['origin_server_ts', 1.5], ['depth', '5'], ['depth', 2.5], ['content', []], ['content', 'x'],
      ['hashes', []], ['hashes', { sha256: 5 }], ['hashes', { sha512: 'x' }], ['signatures', []],
      ['signatures', { 'example.org': 'sig' }], ['signatures', { 'example.org': { 'ed25519:a': 1 } }],
      ['unsigned', 'x'], ['unsigned', null], ['prev_events', {}], ['auth_events', 'x'],
    ];
    for (const [key, value] of wrongTypes) {
      it(`refuses \`${key}\`: ${JSON.stringify(value)}`, () => {
        for (const v of ALL_VERSIONS) assertRefused(valid(v, { [key]: value }), v, 'M_BAD_JSON', new RegExp(key));
      });
    }

    it('refuses NUL in the event type', () => {
      for (const v of ALL_VERSIONS) assertRefused(valid(v, { type: 'm.room\u0000.message' }), v, 'M_BAD_JSON', /type.*NUL/);
    });

    it('allows NUL in the state key', () => {
      accepts(valid(version('10'), { type: 'x', state_key: 'a\u0000b' }), version('10'));
    });
  });

  describe('event IDs and references per format', () => {
    it('v1-v2: event_id is required, and references are [event ID, hashes] pairs', () => {
      for (const v of ALL_VERSIONS.filter((r) => r.eventIdFormat === 'v1')) {
        assertRefused(without(valid(v), 'event_id'), v, 'M_BAD_JSON', /event_id/);
        assertRefused(valid(v, { event_id: 5 }), v, 'M_BAD_JSON', /event_id/);
        assertRefused(valid(v, { prev_events: ['$prev:example.org'] }), v, 'M_BAD_JSON', /prev_events.*pairs/);
        assertRefused(valid(v, { auth_events: [['$a:example.org']] }), v, 'M_BAD_JSON', /auth_events/);
        assertRefused(valid(v, { auth_events: [['$a:example.org', 'hash']] }), v, 'M_BAD_JSON', /auth_events/);
        assertRefused(valid(v, { auth_events: [[5, { sha256: 'x' }]] }), v, 'M_BAD_JSON', /auth_events/);
        accepts(valid(v, { prev_events: [], auth_events: [] }), v);
      }
    });

    it('v3+: event_id must be absent, and references are event IDs', () => {
      for (const v of ALL_VERSIONS.filter((r) => r.eventIdFormat !== 'v1')) {
        assertRefused(valid(v, { event_id: '$x' }), v, 'M_BAD_JSON', /event_id/);
        assertRefused(valid(v, { prev_events: [['$p', { sha256: 'x' }]] }), v, 'M_BAD_JSON', /prev_events.*event IDs/);
        assertRefused(valid(v, { auth_events: [null] }), v, 'M_BAD_JSON', /auth_events/);
      }
    });

    it('allows up to 20 prev_events and 10 auth_events', () => {
      for (const v of ALL_VERSIONS) {
        const ref = (valid(v).prev_events as unknown[])[0];
        accepts(valid(v, { prev_events: Array(20).fill(ref), auth_events: Array(10).fill(ref) }), v);
        assertRefused(valid(v, { prev_events: Array(21).fill(ref) }), v, 'M_BAD_JSON', /prev_events.*20/);
        assertRefused(valid(v, { auth_events: Array(11).fill(ref) }), v, 'M_BAD_JSON', /auth_events.*10/);
      }
    });

    it('allows more when references are not limited (backfill answers), but still checks their shape', () => {
      for (const v of ALL_VERSIONS) {
        const ref = (valid(v).prev_events as unknown[])[0];
        const many = valid(v, { prev_events: Array(21).fill(ref), auth_events: Array(11).fill(ref) });
        assert.doesNotThrow(() => checkEventFormat(many, v, { limitReferences: false }), `room version ${v.id}`);
        assert.throws(() => checkEventFormat(valid(v, { prev_events: [...Array(21).fill(ref), 5] }), v, { limitReferences: false }), /prev_events/);
      }
    });

    it('v12: the create event has no room_id; every other event has one', () => {
      const v = version('12');
      const create = without(valid(v, { type: 'm.room.create', state_key: '', content: {}, prev_events: [], auth_events: [], depth: 1 }), 'room_id');
      accepts(create, v);
      assertRefused(without(valid(v), 'room_id'), v, 'M_BAD_JSON', /room_id/);
      assertRefused(without(valid(v, { type: 'm.room.member', state_key: '@alice:example.org', content: { membership: 'join' } }), 'room_id'), v, 'M_BAD_JSON', /room_id/);
      // A create event carrying a room_id is well-formed; auth rule 1 of v12 rejects it.
      accepts({ ...create, room_id: '!x' }, v);
      assertRefused({ ...create, room_id: 5 }, v, 'M_BAD_JSON', /room_id/);
    });

    it('before v12 the create event needs its room_id too', () => {
      for (const v of ALL_VERSIONS.filter((r) => r.eventFormat !== 'v12')) {
        assertRefused(without(valid(v, { type: 'm.room.create', state_key: '', content: {} }), 'room_id'), v, 'M_BAD_JSON', /room_id/);
      }
    });

    it('v1-v10: a top-level redacts must be a string; from v11 it is not part of the format', () => {
      for (const v of ALL_VERSIONS) {
        const redaction = valid(v, { type: 'm.room.redaction', redacts: 5, content: {} });
        if (v.eventFormat === 'v11' || v.eventFormat === 'v12') accepts(redaction, v);
        else assertRefused(redaction, v, 'M_BAD_JSON', /redacts/);
        accepts(valid(v, { type: 'm.room.redaction', redacts: '$target', content: {} }), v);
      }
    });
  });

  describe('size limits', () => {
    const idKeys: Array<[string, string]> = [['sender', '@'], ['room_id', '!']];
    for (const [key, sigil] of idKeys) {
      it(`\`${key}\`: 255 bytes pass, 256 are M_TOO_LARGE`, () => {
        for (const v of ALL_VERSIONS) {
          accepts(valid(v, { [key]: ofBytes(sigil, 255) }), v);
          assertRefused(valid(v, { [key]: ofBytes(sigil, 256) }), v, 'M_TOO_LARGE', new RegExp(`${key}.*255`));
        }
      });
    }

    it('`event_id` (v1-v2): 255 bytes pass, 256 are M_TOO_LARGE', () => {
      for (const v of [version('1'), version('2')]) {
        accepts(valid(v, { event_id: ofBytes('$', 255) }), v);
        assertRefused(valid(v, { event_id: ofBytes('$', 256) }), v, 'M_TOO_LARGE', /event_id/);
      }
    });

    for (const key of ['type', 'state_key']) {
      it(`\`${key}\`: 255 bytes pass, 256 are M_TOO_LARGE`, () => {
        for (const v of ALL_VERSIONS) {
          accepts(valid(v, { type: 'x', state_key: '', [key]: ofBytes('', 255) }), v);
          assertRefused(valid(v, { type: 'x', state_key: '', [key]: ofBytes('', 256) }), v, 'M_TOO_LARGE', new RegExp(key));
        }
      });
    }

    it('counts bytes, not characters', () => {
      const v = version('10');
      accepts(valid(v, { type: 'x', state_key: '€'.repeat(85) }), v);
      assertRefused(valid(v, { type: 'x', state_key: '€'.repeat(86) }), v, 'M_TOO_LARGE', /state_key/);
      accepts(valid(v, { type: 'x', state_key: '\u{1F600}'.repeat(63) + 'abc' }), v);
      assertRefused(valid(v, { type: 'x', state_key: '\u{1F600}'.repeat(64) }), v, 'M_TOO_LARGE', /state_key/);
    });

    /** The event padded through content.body to exactly `bytes` bytes of canonical JSON. */
    function ofTotalBytes(v: RoomVersion, bytes: number, overrides: Json = {}): Json {
      const event = valid(v, { content: { body: '' }, ...overrides });
      const base = Buffer.byteLength(canonicalJson(event, { strict: false }));
      const padded = { ...event, content: { body: 'x'.repeat(bytes - base) } };
      assert.equal(Buffer.byteLength(canonicalJson(padded, { strict: false })), bytes);
      return padded;
    }

    it('accepts an event of exactly 65536 bytes of canonical JSON and refuses 65537', () => {
      assert.equal(MAX_PDU_BYTES, 65536);
      for (const v of ALL_VERSIONS) {
        accepts(ofTotalBytes(v, 65536), v);
        assertRefused(ofTotalBytes(v, 65537), v, 'M_TOO_LARGE', /65537.*65536/);
      }
    });

    it('counts signatures and unsigned data, and multi-byte characters as their UTF-8 bytes', () => {
      const v = version('10');
      const event = ofTotalBytes(v, 65536);
      assertRefused({ ...event, unsigned: { age: 100 } }, v, 'M_TOO_LARGE', /65537/);
      assertRefused({ ...event, signatures: { 'example.org': { 'ed25519:a': 'c2lnX' } } }, v, 'M_TOO_LARGE', /65537/);
      const body = (event.content as Json).body as string;
      assertRefused({ ...event, content: { body: 'é' + body.slice(1) } }, v, 'M_TOO_LARGE', /65537/);
    });
  });

  describe('canonical JSON per room version', () => {
    it('v6+ refuse floats and integers outside [-(2**53)+1, (2**53)-1] anywhere in the event', () => {
      for (const v of STRICT_VERSIONS) {
        assertRefused(valid(v, { content: { body: 'hi', n: 1.5 } }), v, 'M_BAD_JSON', /integer/);
        assertRefused(valid(v, { content: { nested: [{ n: 2 ** 53 }] } }), v, 'M_BAD_JSON', /outside/);
        assertRefused(valid(v, { unsigned: { age: -(2 ** 53) } }), v, 'M_BAD_JSON', /outside/);
        assertRefused(valid(v, { origin_server_ts: 2 ** 60 }), v, 'M_BAD_JSON', /outside/);
        accepts(valid(v, { content: { n: 2 ** 53 - 1, m: -(2 ** 53) + 1 } }), v);
      }
    });

    it('v1-v5 accept them', () => {
      for (const v of LENIENT_VERSIONS) {
        accepts(valid(v, { content: { body: 'hi', n: 1.5 } }), v);
        accepts(valid(v, { content: { nested: [{ n: 2 ** 53 }] } }), v);
        accepts(valid(v, { type: 'm.room.power_levels', state_key: '', content: { users: { '@bob:localhost': 50.57 } } }), v);
      }
    });

    it('every version refuses lone surrogates', () => {
      for (const v of ALL_VERSIONS) assertRefused(valid(v, { content: { body: 'a\ud800' } }), v, 'M_BAD_JSON', /surrogate/);
    });

    it('depth: at most 2**53 - 1 from v6, 2**63 - 1 before', () => {
      for (const v of STRICT_VERSIONS) {
        accepts(valid(v, { depth: 2 ** 53 - 1 }), v);
        assertRefused(valid(v, { depth: 2 ** 53 }), v, 'M_BAD_JSON', /depth/);
      }
      for (const v of LENIENT_VERSIONS) {
        accepts(valid(v, { depth: 2 ** 53 }), v);
        accepts(JSON.parse(JSON.stringify(valid(v, { depth: 0 })).replace('"depth":0', '"depth":9223372036854775807')), v);
        assertRefused(valid(v, { depth: 2 ** 64 }), v, 'M_BAD_JSON', /depth/);
      }
    });
  });
});

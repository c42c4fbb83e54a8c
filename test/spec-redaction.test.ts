import assert from 'node:assert/strict';
import type { Pdu } from '../spec/pdu';
import { redact, redactedView } from '../spec/redaction';
import { roomVersion, type RoomVersion } from '../spec/room-versions';

const version = (id: string): RoomVersion => roomVersion(id)!;

/** Every top-level key any algorithm protects, plus some none does. */
const TOP_LEVEL = {
  event_id: '$e:example.org',
  room_id: '!r:example.org',
  sender: '@alice:example.org',
  state_key: '',
  hashes: { sha256: 'hash' },
  signatures: { 'example.org': { 'ed25519:a': 'sig' } },
  depth: 4,
  prev_events: ['$p'],
  prev_state: ['$s'],
  auth_events: ['$a'],
  origin: 'example.org',
  origin_server_ts: 1234,
  membership: 'join',
  unsigned: { age: 1, redacted_because: {} },
  redacts: '$target',
  age_ts: 99,
  extra: 'dropped',
};

/** Per event type, content with every key any algorithm keeps and one none does. */
const CONTENT: Record<string, Record<string, unknown>> = {
  'm.room.member': {
    membership: 'join',
    join_authorised_via_users_server: '@bob:example.org',
    third_party_invite: { display_name: 'b...@example.com', signed: { mxid: '@carol:example.org', token: 'tok', signatures: {} } },
    displayname: 'Alice',
    avatar_url: 'mxc://example.org/a',
    reason: 'hi',
  },
  'm.room.create': {
    creator: '@alice:example.org',
    room_version: '11',
    'm.federate': false,
    predecessor: { room_id: '!old:example.org', event_id: '$old' },
    additional_creators: ['@bob:example.org'],
    type: 'm.space',
  },
  'm.room.join_rules': { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!other:example.org' }], extra: 1 },
  'm.room.power_levels': {
    ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50, notifications: { room: 50 },
    redact: 50, state_default: 50, users: { '@alice:example.org': 100 }, users_default: 0, extra: 1,
  },
  'm.room.aliases': { aliases: ['#a:example.org'], extra: 1 },
  'm.room.history_visibility': { history_visibility: 'shared', extra: 1 },
  'm.room.redaction': { redacts: '$target', reason: 'spam' },
  'm.room.message': { body: 'hello', msgtype: 'm.text' },
  'm.room.name': { name: 'A room' },
  'm.room.topic': { topic: 'Things' },
  'm.room.canonical_alias': { alias: '#a:example.org' },
  'm.room.guest_access': { guest_access: 'can_join' },
  'm.room.encryption': { algorithm: 'm.megolm.v1.aes-sha2' },
  'm.room.third_party_invite': { display_name: 'x', key_validity_url: 'https://x', public_key: 'k' },
  'm.room.server_acl': { allow: ['*'], deny: [] },
  'm.room.tombstone': { body: 'moved', replacement_room: '!new:example.org' },
  'm.space.child': { via: ['example.org'] },
  'com.example.custom': { membership: 'join', join_rule: 'public', creator: '@x:y' },
};

const event = (type: string): Pdu => structuredClone({ ...TOP_LEVEL, type, content: CONTENT[type] }) as Pdu;

const pick = (source: Record<string, unknown>, ...keys: string[]): Record<string, unknown> =>
  Object.fromEntries(keys.filter((key) => key in source).map((key) => [key, source[key]]));

/** The protected top-level keys, as the spec lists them (fragments v1/v6/v9-redactions; v11-redactions). */
const V1_TOP_LEVEL = ['event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth', 'prev_events', 'prev_state', 'auth_events', 'origin', 'origin_server_ts', 'membership'];
const V11_TOP_LEVEL = ['event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth', 'prev_events', 'auth_events', 'origin_server_ts'];

const PL = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

/** Content kept per type, written out from each version's list. */
const KEPT_V1: Record<string, string[]> = {
  'm.room.member': ['membership'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule'],
  'm.room.power_levels': PL,
  'm.room.aliases': ['aliases'],
  'm.room.history_visibility': ['history_visibility'],
};
const KEPT_V6: Record<string, string[]> = {
  'm.room.member': ['membership'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule'],
  'm.room.power_levels': PL,
  'm.room.history_visibility': ['history_visibility'],
};
const KEPT_V8: Record<string, string[]> = { ...KEPT_V6, 'm.room.join_rules': ['join_rule', 'allow'] };
const KEPT_V9: Record<string, string[]> = { ...KEPT_V8, 'm.room.member': ['membership', 'join_authorised_via_users_server'] };
const KEPT_V11: Record<string, string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': Object.keys(CONTENT['m.room.create']),
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': [...PL, 'invite'],
  'm.room.history_visibility': ['history_visibility'],
  'm.room.redaction': ['redacts'],
};

const EXPECTED: Array<[string[], string[], Record<string, string[]>]> = [
  [['1', '2', '3', '4', '5'], V1_TOP_LEVEL, KEPT_V1],
  [['6', '7'], V1_TOP_LEVEL, KEPT_V6],
  [['8'], V1_TOP_LEVEL, KEPT_V8],
  [['9', '10'], V1_TOP_LEVEL, KEPT_V9],
  [['11', '12'], V11_TOP_LEVEL, KEPT_V11],
];

function expectedContent(type: string, kept: Record<string, string[]>, versionId: string): Record<string, unknown> {
  const content = pick(CONTENT[type], ...(kept[type] ?? []));
  // v11: m.room.member also keeps the `signed` key of `third_party_invite`.
  if (type === 'm.room.member' && (versionId === '11' || versionId === '12')) {
    content.third_party_invite = { signed: (CONTENT[type].third_party_invite as Record<string, unknown>).signed };
  }
  return content;
}

describe('redaction (rooms/ fragments v1/v6/v9/v11-redactions, rooms/v8.md)', () => {
  for (const [versionIds, topLevel, kept] of EXPECTED) {
    for (const id of versionIds) {
      describe(`room version ${id}`, () => {
        for (const type of Object.keys(CONTENT)) {
          it(`${type}: keeps ${(kept[type] ?? []).join(', ') || 'no content'}`, () => {
            const full = event(type);
            const expected = { ...pick(full as Record<string, unknown>, ...topLevel), content: expectedContent(type, kept, id) };
            assert.deepEqual(redact(full, version(id)), expected);
          });
        }
      });
    }
  }

  describe('details', () => {
    it('v1-v10 keep the legacy top-level origin, membership and prev_state; v11 drops them', () => {
      for (const id of ['1', '5', '6', '8', '9', '10']) {
        const redacted = redact(event('m.room.message'), version(id));
        assert.equal(redacted.origin, 'example.org');
        assert.equal(redacted.membership, 'join');
        assert.deepEqual(redacted.prev_state, ['$s']);
      }
      for (const id of ['11', '12']) {
        const redacted = redact(event('m.room.message'), version(id));
        for (const key of ['origin', 'membership', 'prev_state']) assert.ok(!(key in redacted), `${key} in v${id}`);
      }
    });

    it('always drops unsigned, a top-level redacts, age_ts and unknown keys', () => {
      for (let n = 1; n <= 12; n++) {
        const redacted = redact(event('m.room.redaction'), version(String(n)));
        for (const key of ['unsigned', 'redacts', 'age_ts', 'extra']) assert.ok(!(key in redacted), `${key} in v${n}`);
      }
    });

    it('v11: third_party_invite keeps only `signed`, becomes {} without it, and goes if it is not an object', () => {
      const v = version('11');
      const withoutSigned = { ...event('m.room.member'), content: { membership: 'invite', third_party_invite: { display_name: 'x' } } };
      assert.deepEqual(redact(withoutSigned, v).content, { membership: 'invite', third_party_invite: {} });
      const notObject = { ...event('m.room.member'), content: { membership: 'invite', third_party_invite: 'x' } };
      assert.deepEqual(redact(notObject, v).content, { membership: 'invite' });
      const arrayValue = { ...event('m.room.member'), content: { membership: 'invite', third_party_invite: [{ signed: 1 }] } };
      assert.deepEqual(redact(arrayValue, v).content, { membership: 'invite' });
    });

    it('keeps only keys the event has: nothing is added but content', () => {
      const bare = { type: 'm.room.member', sender: '@a:b', content: { displayname: 'x' } } as unknown as Pdu;
      assert.deepEqual(redact(bare, version('10')), { type: 'm.room.member', sender: '@a:b', content: {} });
      const noContent = { type: 'm.room.create', sender: '@a:b' } as unknown as Pdu;
      assert.deepEqual(redact(noContent, version('11')), { type: 'm.room.create', sender: '@a:b', content: {} });
    });

    it('empties content that is not an object', () => {
      const weird = { ...event('m.room.power_levels'), content: ['ban'] } as unknown as Pdu;
      assert.deepEqual(redact(weird, version('6')).content, {});
    });

    it('does not mistake inherited property names for event types or kept keys', () => {
      for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        const odd = { ...event('m.room.message'), type, content: { a: 1 } } as Pdu;
        assert.deepEqual(redact(odd, version('11')).content, {});
      }
      const member = { ...event('m.room.member'), content: JSON.parse('{"membership":"join","__proto__":{"x":1},"constructor":1}') };
      assert.deepEqual(redact(member, version('11')).content, { membership: 'join' });
    });

    it('is idempotent', () => {
      for (let n = 1; n <= 12; n++) {
        const v = version(String(n));
        for (const type of Object.keys(CONTENT)) {
          const once = redact(event(type), v);
          assert.deepEqual(redact(once, v), once);
        }
      }
    });

    it('returns a deep copy: changing the result leaves the input alone, and the other way round', () => {
      const v = version('11');
      const input = event('m.room.create');
      const before = structuredClone(input);
      const redacted = redact(input, v);
      (redacted.content.predecessor as Record<string, unknown>).room_id = 'changed';
      (redacted.signatures['example.org'] as Record<string, string>)['ed25519:a'] = 'changed';
      (redacted.prev_events as string[]).push('$more');
      redacted.hashes.sha256 = 'changed';
      assert.deepEqual(input, before);

      const again = redact(input, v);
      (input.content.predecessor as Record<string, unknown>).event_id = 'changed';
      (input.auth_events as string[]).length = 0;
      assert.equal((again.content.predecessor as Record<string, unknown>).event_id, '$old');
      assert.deepEqual(again.auth_events, ['$a']);

      const pl = event('m.room.power_levels');
      const redactedPl = redact(pl, version('6'));
      (redactedPl.content.users as Record<string, number>)['@mallory:example.org'] = 100;
      assert.deepEqual(pl.content.users, { '@alice:example.org': 100 });
    });

    it('redactedView has the same keys and values without copying them', () => {
      const input = event('m.room.power_levels');
      for (let n = 1; n <= 12; n++) {
        const v = version(String(n));
        const view = redactedView(input, v);
        assert.deepEqual(view, redact(input, v));
        assert.equal(view.signatures, input.signatures);
        assert.equal((view.content as Record<string, unknown>).users, input.content.users);
        assert.notEqual(view, input);
        assert.notEqual(view.content, input.content);
      }
    });
  });
});

/**
 * Authorisation rules shared by every room version: the create event, the
 * create event's presence, m.federate, sender membership, required power
 * levels, the state_key rule, m.room.aliases and m.room.redaction per version.
 * Membership rules are in spec-auth-membership.test.ts, power level changes in
 * spec-auth-power-levels.test.ts.
 */
import assert from 'node:assert/strict';
import { authorize } from '../spec/auth-rules';
import { createEventIdOfRoom } from '../spec/event-hashes';
import type { StateEvents } from '../spec/pdu';
import {
  ALICE, ALL_VERSIONS, allowed, assertRefused, BOB, buildEvent, CAROL, DAVE, refused, setLevels, TestRoom, version, type EventSpec,
} from './helpers/events';

const message = (sender: string, body = 'hi'): EventSpec => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });

const createSpec = (content: Record<string, unknown>): EventSpec => ({ type: 'm.room.create', sender: ALICE, state_key: '', content });

function checkCreate(id: string, spec: EventSpec, roomId: string | undefined, prev: string[] = []): void {
  const v = version(id);
  authorize(buildEvent(v, roomId, spec, prev, []), new Map(), v);
}

describe('auth rules: m.room.create', () => {
  for (const id of ALL_VERSIONS) {
    const v = version(id);
    const implied = v.eventFormat === 'v12';
    const roomId = implied ? undefined : '!r:a.test';
    const base = { room_version: id, ...(Number(id) <= 10 ? { creator: ALICE } : {}) };
    const isRefused = (spec: EventSpec, room: string | undefined, rule: RegExp, prev: string[] = []) =>
      assertRefused(() => checkCreate(id, spec, room, prev), rule);

    describe(`room version ${id}`, () => {
      it('allows a well-formed create event', () => {
        checkCreate(id, createSpec(base), roomId);
        const { room_version: _omitted, ...withoutVersion } = base;
        checkCreate(id, createSpec(withoutVersion), roomId);
      });

      it('refuses a create event with prev_events', () => {
        isRefused(createSpec(base), roomId, /m\.room\.create: it has prev_events/, ['$earlier']);
      });

      if (implied) {
        it('refuses a create event with a room_id', () => {
          isRefused(createSpec(base), '!r:a.test', /has a room_id/);
        });
      } else {
        it("refuses a room ID on another server than the sender's", () => {
          isRefused(createSpec(base), '!r:b.test', /room ID's domain/);
          isRefused(createSpec(base), undefined, /room ID's domain/);
        });
      }

      it('refuses an unknown or non-string room_version', () => {
        isRefused(createSpec({ ...base, room_version: '99' }), roomId, /not a recognised version/);
        isRefused(createSpec({ ...base, room_version: Number(id) }), roomId, /not a recognised version/);
      });

      if (Number(id) <= 10) {
        it('refuses a create event without content.creator', () => {
          isRefused(createSpec({ room_version: id }), roomId, /no creator/);
        });
      } else {
        it('allows a create event without content.creator', () => {
          checkCreate(id, createSpec({ room_version: id }), roomId);
        });
      }

      if (v.privilegedCreators) {
        it('checks additional_creators are user IDs', () => {
          checkCreate(id, createSpec({ ...base, additional_creators: [BOB, CAROL] }), roomId);
          isRefused(createSpec({ ...base, additional_creators: ['bob'] }), roomId, /additional_creators/);
          isRefused(createSpec({ ...base, additional_creators: BOB }), roomId, /additional_creators/);
          isRefused(createSpec({ ...base, additional_creators: [42] }), roomId, /additional_creators/);
        });
      } else {
        it('ignores additional_creators', () => {
          checkCreate(id, createSpec({ ...base, additional_creators: ['bob'] }), roomId);
        });
      }
    });
  }
});

describe('auth rules: the room and its create event', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: refuses an event checked against a state without m.room.create`, () => {
      const room = TestRoom.standard(id);
      const event = room.build(message(ALICE));
      const state: StateEvents = new Map(room.state);
      for (const [tuple, e] of state) if (e.pdu.type === 'm.room.create') state.delete(tuple);
      assertRefused(() => authorize(event, state, room.version), /no m\.room\.create/);
    });
  }

  it('v12: refuses an event whose room ID is not the create event ID', () => {
    const room = TestRoom.standard('12');
    assert.equal(createEventIdOfRoom(room.roomId, room.version), room.create.id);
    allowed(room, message(ALICE));
    refused(room, { ...message(ALICE), pdu: { room_id: '!other' } }, /^room ID: /);
  });

  it('before v12: the room ID is not compared with the create event ID', () => {
    const room = TestRoom.standard('11');
    allowed(room, { ...message(ALICE), pdu: { room_id: '!elsewhere:a.test' } });
  });
});

describe('auth rules: m.federate', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: a room with m.federate false refuses other servers' events`, () => {
      const room = new TestRoom(version(id), ALICE, { 'm.federate': false });
      room.join(ALICE);
      room.send({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: 'public' } });
      refused(room, room.member(BOB, 'join'), /^m\.federate: /);
      allowed(room, room.member(DAVE, 'join'));
    });
  }

  it('m.federate true or absent lets other servers in', () => {
    const room = new TestRoom(version('10'), ALICE, { 'm.federate': true });
    room.join(ALICE);
    room.send({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: 'public' } });
    allowed(room, room.member(BOB, 'join'));
  });
});

describe('auth rules: the sender must be joined', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: refuses messages from users who are not joined`, () => {
      const room = TestRoom.standard(id);
      allowed(room, message(ALICE));
      refused(room, message(BOB), /^sender membership: /);
      room.send(room.member(ALICE, 'invite', BOB));
      refused(room, message(BOB), /^sender membership: /);
      room.join(BOB);
      allowed(room, message(BOB));
      room.send(room.member(BOB, 'leave'));
      refused(room, message(BOB), /^sender membership: /);
    });
  }
});

describe('auth rules: required power level', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      it('state events need state_default (50) unless events says otherwise', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        const name: EventSpec = { type: 'm.room.name', sender: BOB, state_key: '', content: { name: 'x' } };
        refused(room, name, /^power level: m\.room\.name needs power level 50, the sender has 0/);
        allowed(room, { ...name, sender: ALICE });
        setLevels(room, {}, { state_default: 0 });
        allowed(room, name);
        setLevels(room, {}, { state_default: 0, events: { 'm.room.name': 1 } });
        refused(room, name, /needs power level 1/);
      });

      it('message events need events_default (0) unless events says otherwise', () => {
        const room = TestRoom.standard(id);
        room.join(BOB);
        allowed(room, message(BOB));
        setLevels(room, {}, { events_default: 10 });
        refused(room, message(BOB), /needs power level 10/);
        setLevels(room, {}, { events_default: 10, events: { 'm.room.message': 0 } });
        allowed(room, message(BOB));
        refused(room, { type: 'm.reaction', sender: BOB, content: {} }, /needs power level 10/);
      });

      it('without m.room.power_levels, the creator may send state and others only messages', () => {
        const room = new TestRoom(version(id), ALICE);
        room.join(ALICE);
        room.send({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: 'public' } });
        room.join(BOB);
        allowed(room, { type: 'm.room.topic', sender: ALICE, state_key: '', content: { topic: 't' } });
        refused(room, { type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 't' } }, /needs power level 50/);
        allowed(room, message(BOB));
      });
    });
  }
});

describe('auth rules: state keys starting with @', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: only the user named by an @ state_key may send it`, () => {
      const room = TestRoom.standard(id, ALICE, 'public', { state_default: 0 });
      room.join(BOB);
      const custom = (stateKey: string): EventSpec => ({ type: 'com.example.status', sender: BOB, state_key: stateKey, content: {} });
      allowed(room, custom(BOB));
      allowed(room, custom('bob'));
      refused(room, custom(ALICE), /^state_key: /);
      refused(room, custom(`${BOB}x`), /^state_key: /);
    });
  }
});

describe('auth rules: m.room.third_party_invite events', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: need the invite level, not state_default`, () => {
      const room = TestRoom.standard(id);
      room.join(BOB);
      const invite: EventSpec = {
        type: 'm.room.third_party_invite',
        sender: BOB,
        state_key: 'token',
        content: { display_name: 'x', key_validity_url: 'https://id.test/v', public_key: 'a' },
      };
      allowed(room, invite);
      setLevels(room, {}, { invite: 1 });
      refused(room, invite, /^m\.room\.third_party_invite: /);
      refused(room, { ...invite, sender: CAROL }, /^sender membership: /);
    });
  }
});

describe('auth rules: m.room.aliases', () => {
  for (const id of ['1', '2', '3', '4', '5']) {
    it(`v${id}: allowed iff the state_key is the sender's server, joined or not`, () => {
      const room = TestRoom.standard(id);
      const aliases = (stateKey?: string): EventSpec => ({ type: 'm.room.aliases', sender: BOB, state_key: stateKey, content: { aliases: ['#x:b.test'] } });
      allowed(room, aliases('b.test'));
      refused(room, aliases('a.test'), /^m\.room\.aliases: the state_key/);
      refused(room, aliases(undefined), /^m\.room\.aliases: no state_key/);
    });
  }
  for (const id of ['6', '7', '8', '9', '10', '11', '12']) {
    it(`v${id}: an ordinary state event`, () => {
      const room = TestRoom.standard(id);
      const aliases: EventSpec = { type: 'm.room.aliases', sender: BOB, state_key: 'b.test', content: { aliases: [] } };
      refused(room, aliases, /^sender membership: /);
      room.join(BOB);
      refused(room, aliases, /^power level: /);
      allowed(room, { ...aliases, sender: ALICE, state_key: 'b.test' });
    });
  }
});

describe('auth rules: m.room.redaction', () => {
  const redaction = (sender: string, redacts: string): EventSpec => ({
    type: 'm.room.redaction',
    sender,
    content: {},
    pdu: { redacts },
  });

  for (const id of ['1', '2']) {
    it(`v${id}: below the redact level, only events from the redaction's own server`, () => {
      const room = TestRoom.standard(id);
      room.join(BOB);
      allowed(room, redaction(BOB, '$theirs:b.test'));
      refused(room, redaction(BOB, '$theirs:a.test'), /^m\.room\.redaction: /);
      refused(room, { ...redaction(BOB, '$x:b.test'), pdu: {} }, /^m\.room\.redaction: /);
      allowed(room, redaction(ALICE, '$theirs:b.test'));
      setLevels(room, { [BOB]: 50 });
      allowed(room, redaction(BOB, '$theirs:a.test'));
      setLevels(room, { [BOB]: 50 }, { redact: 51 });
      refused(room, redaction(BOB, '$theirs:a.test'), /^m\.room\.redaction: /);
    });
  }

  for (const id of ['3', '4', '5', '6', '7', '8', '9', '10', '11', '12']) {
    it(`v${id}: the redact level is not an auth rule; events and events_default are`, () => {
      const room = TestRoom.standard(id);
      room.join(BOB);
      const spec = Number(id) >= 11 ? { type: 'm.room.redaction', sender: BOB, content: { redacts: '$other' } } : redaction(BOB, '$other');
      allowed(room, spec);
      setLevels(room, {}, { events: { 'm.room.redaction': 50 } });
      refused(room, spec, /^power level: /);
    });
  }
});

describe('auth rules: events of other types', () => {
  it('allows any other event a joined user has the power level for', () => {
    const room = TestRoom.standard('12');
    room.join(BOB);
    allowed(room, { type: 'org.example.custom', sender: BOB, content: { anything: [1, 2] } });
  });
});

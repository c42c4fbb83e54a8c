/** m.room.power_levels: reading levels per room version (spec/power-levels.ts) and the auth rule on changing them. */
import assert from 'node:assert/strict';
import { type RoomEvent, stateTuple, type StateEvents } from '../spec/pdu';
import { PowerLevels, powerLevelValue, requiredPowerLevel, roomCreators, userPowerLevel } from '../spec/power-levels';
import {
  ALICE, ALL_VERSIONS, allowed, BOB, buildEvent, CAROL, DAVE, refused, setLevels, TestRoom, version, type EventSpec,
} from './helpers/events';

const plEvent = (sender: string, content: Record<string, unknown>): EventSpec => ({ type: 'm.room.power_levels', sender, state_key: '', content });

describe('power level values per room version', () => {
  it('integers are levels in every version', () => {
    for (const id of ALL_VERSIONS) {
      assert.equal(powerLevelValue(50, version(id)), 50);
      assert.equal(powerLevelValue(-3, version(id)), -3);
      assert.equal(powerLevelValue(true, version(id)), undefined);
      assert.equal(powerLevelValue(null, version(id)), undefined);
      assert.equal(powerLevelValue({}, version(id)), undefined);
    }
  });

  it('v1-v9 read strings holding integers: sign, leading zeroes and surrounding whitespace allowed', () => {
    for (const id of ['1', '5', '6', '9']) {
      const v = version(id);
      assert.equal(powerLevelValue('100', v), 100);
      assert.equal(powerLevelValue('000100', v), 100);
      assert.equal(powerLevelValue('+100', v), 100);
      assert.equal(powerLevelValue('-100', v), -100);
      assert.equal(powerLevelValue(' 00100 ', v), 100);
      assert.equal(powerLevelValue(' +100 ', v), 100);
      for (const bad of ['', ' ', '1.5', '1e3', '--1', '+-1', 'abc', '10a', '0x10', '1 0']) {
        assert.equal(powerLevelValue(bad, v), undefined, `"${bad}" in v${id}`);
      }
    }
  });

  it('v10+ read only integers', () => {
    for (const id of ['10', '11', '12']) {
      assert.equal(powerLevelValue('100', version(id)), undefined);
      assert.equal(powerLevelValue(50.5, version(id)), undefined);
    }
  });

  it('v1-v5 truncate floats; v6+ (canonical JSON) have none', () => {
    for (const id of ['1', '2', '3', '4', '5']) {
      assert.equal(powerLevelValue(50.57, version(id)), 50);
      assert.equal(powerLevelValue(5.114698e4, version(id)), 51146);
      assert.equal(powerLevelValue(-0.5, version(id)), 0);
      assert.equal(Object.is(powerLevelValue(-0.5, version(id)), 0), true);
      assert.equal(powerLevelValue(Infinity, version(id)), undefined);
      assert.equal(powerLevelValue(NaN, version(id)), undefined);
    }
    for (const id of ['6', '9', '10', '12']) assert.equal(powerLevelValue(50.57, version(id)), undefined);
  });
});

function stateOf(...events: RoomEvent[]): StateEvents {
  return new Map(events.map((e) => [stateTuple(e.pdu.type, e.pdu.state_key!), e]));
}

function createEvent(id: string, content: Record<string, unknown> = {}): RoomEvent {
  const v = version(id);
  return buildEvent(v, v.eventFormat === 'v12' ? undefined : '!r:a.test', { type: 'm.room.create', sender: ALICE, state_key: '', content }, [], []);
}

const plState = (content: Record<string, unknown>): RoomEvent =>
  buildEvent(version('1'), '!r:a.test', plEvent(ALICE, content), [], []);

describe('userPowerLevel and requiredPowerLevel', () => {
  it('without m.room.power_levels: the creator 100, others 0 (v1-v11)', () => {
    for (const id of ['1', '10']) {
      const state = stateOf(createEvent(id, { creator: DAVE }));
      assert.equal(userPowerLevel(DAVE, state, version(id)), 100);
      assert.equal(userPowerLevel(ALICE, state, version(id)), 0);
    }
    const state = stateOf(createEvent('11', { creator: DAVE }));
    assert.equal(userPowerLevel(ALICE, state, version('11')), 100);
    assert.equal(userPowerLevel(DAVE, state, version('11')), 0);
  });

  it('without m.room.power_levels: state events need 50, messages 0', () => {
    for (const id of ALL_VERSIONS) {
      const state = stateOf(createEvent(id, { creator: ALICE }));
      assert.equal(requiredPowerLevel('m.room.name', true, state, version(id)), 50);
      assert.equal(requiredPowerLevel('m.room.message', false, state, version(id)), 0);
      const levels = PowerLevels.fromState(state, version(id));
      assert.deepEqual(
        ['ban', 'kick', 'redact', 'invite', 'users_default'].map((n) => levels.named(n as 'ban')),
        [50, 50, 50, 0, 0],
      );
      assert.equal(levels.notification('room'), 50);
    }
  });

  it('with m.room.power_levels: users, else users_default; the creator gets no special level before v12', () => {
    const v = version('11');
    const state = stateOf(createEvent('11'), plState({ users: { [BOB]: 75 }, users_default: 5 }));
    assert.equal(userPowerLevel(BOB, state, v), 75);
    assert.equal(userPowerLevel(CAROL, state, v), 5);
    assert.equal(userPowerLevel(ALICE, state, v), 5);
    const noDefault = stateOf(createEvent('11'), plState({ users: { [BOB]: 75 } }));
    assert.equal(userPowerLevel(CAROL, noDefault, v), 0);
  });

  it('with m.room.power_levels: missing properties take their defaults', () => {
    const v = version('11');
    const levels = PowerLevels.fromState(stateOf(createEvent('11'), plState({ events: { 'm.room.name': 10 } })), v);
    assert.equal(levels.required('m.room.name', true), 10);
    assert.equal(levels.required('m.room.topic', true), 50);
    assert.equal(levels.required('m.room.message', false), 0);
    assert.deepEqual([levels.named('ban'), levels.named('kick'), levels.named('redact'), levels.named('invite')], [50, 50, 50, 0]);
    const set = PowerLevels.fromState(
      stateOf(createEvent('11'), plState({ ban: 1, kick: 2, redact: 3, invite: 4, state_default: 5, events_default: 6, notifications: { room: 7, custom: 8 } })),
      v,
    );
    assert.deepEqual([set.named('ban'), set.named('kick'), set.named('redact'), set.named('invite')], [1, 2, 3, 4]);
    assert.equal(set.required('m.room.topic', true), 5);
    assert.equal(set.required('m.room.message', false), 6);
    assert.equal(set.notification('room'), 7);
    assert.equal(set.notification('custom'), 8);
    assert.equal(set.notification('other'), undefined);
  });

  it('reads only the map entries themselves, not inherited object properties', () => {
    const v = version('11');
    const state = stateOf(createEvent('11'), plState({ users: {}, users_default: 3, events: {} }));
    assert.equal(userPowerLevel('constructor', state, v), 3);
    assert.equal(userPowerLevel('__proto__', state, v), 3);
    assert.equal(requiredPowerLevel('toString', false, state, v), 0);
  });

  it('v1-v9 read string levels; v10 falls back to the defaults for them', () => {
    const content = { users: { [BOB]: '75' }, ban: ' 20 ', events: { 'm.room.name': '+5' } };
    const v9 = PowerLevels.fromState(stateOf(createEvent('9', { creator: ALICE }), plState(content)), version('9'));
    assert.deepEqual([v9.user(BOB), v9.named('ban'), v9.required('m.room.name', true)], [75, 20, 5]);
    const v10 = PowerLevels.fromState(stateOf(createEvent('10', { creator: ALICE }), plState(content)), version('10'));
    assert.deepEqual([v10.user(BOB), v10.named('ban'), v10.required('m.room.name', true)], [0, 50, 50]);
  });

  it('v12: the create sender and additional_creators have infinite power, with or without power levels', () => {
    const v = version('12');
    const create = createEvent('12', { additional_creators: [BOB] });
    assert.deepEqual([...roomCreators(create.pdu, v)].sort(), [ALICE, BOB]);
    for (const state of [stateOf(create), stateOf(create, plState({ users: { [CAROL]: 100 }, users_default: 10 }))]) {
      assert.equal(userPowerLevel(ALICE, state, v), Infinity);
      assert.equal(userPowerLevel(BOB, state, v), Infinity);
    }
    assert.equal(userPowerLevel(CAROL, stateOf(create), v), 0);
    assert.equal(userPowerLevel(CAROL, stateOf(create, plState({ users: { [CAROL]: 100 } })), v), 100);
  });

  it('before v12, additional_creators mean nothing', () => {
    const v = version('11');
    const create = createEvent('11', { additional_creators: [BOB] });
    assert.deepEqual([...roomCreators(create.pdu, v)], [ALICE]);
    assert.equal(userPowerLevel(BOB, stateOf(create), v), 0);
  });
});

describe('auth rules: m.room.power_levels content', () => {
  for (const id of ALL_VERSIONS) {
    it(`v${id}: users must map user IDs to levels`, () => {
      const room = TestRoom.standard(id);
      const admin = room.version.privilegedCreators ? {} : { [ALICE]: 100 };
      refused(room, plEvent(ALICE, { users: { ...admin, bob: 50 } }), /^m\.room\.power_levels: users has a key that is not a user ID/);
      refused(room, plEvent(ALICE, { users: { ...admin, [BOB]: 'lots' } }), /^m\.room\.power_levels: users\[@bob:b\.test\] is not an integer/);
      refused(room, plEvent(ALICE, { users: { ...admin, [BOB]: null } }), /is not an integer/);
      refused(room, plEvent(ALICE, { users: [BOB] }), /users is not an object/);
      allowed(room, plEvent(ALICE, { users: { ...admin, [BOB]: 50 } }));
    });
  }

  for (const id of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) {
    it(`v${id}: string levels are accepted`, () => {
      const room = TestRoom.standard(id);
      room.join(BOB);
      room.powerLevels({ users: { [ALICE]: '100', [BOB]: ' +050 ' }, ban: '50', events: { 'm.room.name': '50' }, notifications: { room: '20' } });
      allowed(room, { type: 'm.room.name', sender: BOB, state_key: '', content: { name: 'n' } });
      refused(room, { type: 'm.room.topic', sender: CAROL, state_key: '', content: {} }, /^sender membership/);
      refused(room, plEvent(ALICE, { users: { [ALICE]: '100', [BOB]: '5.5' } }), /users\[@bob:b\.test\] is not an integer/);
    });
  }

  for (const id of ['1', '2', '3', '4', '5']) {
    it(`v${id}: float levels are accepted and truncated`, () => {
      const room = TestRoom.standard(id);
      room.join(BOB);
      room.powerLevels({ users: { [ALICE]: 100, [BOB]: 50.57 } });
      allowed(room, { type: 'm.room.name', sender: BOB, state_key: '', content: { name: 'n' } });
      room.powerLevels({ users: { [ALICE]: 100, [BOB]: 49.99 } });
      refused(room, { type: 'm.room.name', sender: BOB, state_key: '', content: { name: 'n' } }, /needs power level 50, the sender has 49/);
    });
  }

  for (const id of ['10', '11', '12']) {
    describe(`room version ${id}: values must be integers`, () => {
      const admin = id === '12' ? {} : { [ALICE]: 100 };
      for (const name of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
        it(`refuses a string or float ${name}`, () => {
          const room = TestRoom.standard(id);
          refused(room, plEvent(ALICE, { users: admin, [name]: '50' }), new RegExp(`^m\\.room\\.power_levels: ${name} is not an integer`));
          refused(room, plEvent(ALICE, { users: admin, [name]: 50.5 }), /is not an integer/);
          refused(room, plEvent(ALICE, { users: admin, [name]: null }), /is not an integer/);
          allowed(room, plEvent(ALICE, { users: admin, [name]: 50 }));
        });
      }
      for (const name of ['events', 'notifications']) {
        it(`refuses ${name} that is not an object of integers`, () => {
          const room = TestRoom.standard(id);
          refused(room, plEvent(ALICE, { users: admin, [name]: { x: '50' } }), new RegExp(`${name} is not an object of integers`));
          refused(room, plEvent(ALICE, { users: admin, [name]: [] }), /is not an object of integers/);
          refused(room, plEvent(ALICE, { users: admin, [name]: 5 }), /is not an object of integers/);
          allowed(room, plEvent(ALICE, { users: admin, [name]: { x: 50 } }));
        });
      }
      it('refuses string user levels', () => {
        const room = TestRoom.standard(id);
        refused(room, plEvent(ALICE, { users: { ...admin, [BOB]: '50' } }), /users\[@bob:b\.test\] is not an integer/);
      });
    });
  }

  for (const id of ['1', '9']) {
    it(`v${id}: malformed top-level values are not checked, and read as absent`, () => {
      const room = TestRoom.standard(id);
      allowed(room, plEvent(ALICE, { users: { [ALICE]: 100 }, ban: 'lots', events: 'none' }));
    });
  }
});

describe('auth rules: m.room.power_levels changes', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      const admin = (room: TestRoom) => (room.version.privilegedCreators ? {} : { [ALICE]: 100 });
      /** A room where bob is a moderator (50) who may send power levels, carol 50, dave 10. */
      function modRoom(extra: Record<string, unknown> = {}): TestRoom {
        const room = TestRoom.standard(id);
        for (const user of [BOB, CAROL, DAVE]) room.join(user);
        setLevels(room, { [BOB]: 50, [CAROL]: 50, [DAVE]: 10 }, { events: { 'm.room.power_levels': 50 }, ...extra });
        return room;
      }
      const users = (room: TestRoom, changes: Record<string, number>) => ({ ...admin(room), [BOB]: 50, [CAROL]: 50, [DAVE]: 10, ...changes });
      const levels = (room: TestRoom, changes: Record<string, number>, extra: Record<string, unknown> = {}) =>
        plEvent(BOB, { users: users(room, changes), events: { 'm.room.power_levels': 50 }, ...extra });

      it('the first power levels event is allowed whatever it grants', () => {
        const room = new TestRoom(version(id), ALICE);
        room.join(ALICE);
        allowed(room, plEvent(ALICE, { users: { [BOB]: 1000 }, ban: 1000 }));
      });

      it('sending power levels needs the level for m.room.power_levels', () => {
        const room = modRoom();
        refused(room, { ...levels(room, {}), sender: DAVE }, /^power level: m\.room\.power_levels needs power level 50, the sender has 10/);
        allowed(room, levels(room, {}));
      });

      it('a moderator may raise others up to their own level, not above', () => {
        const room = modRoom();
        allowed(room, levels(room, { [DAVE]: 50 }));
        allowed(room, levels(room, { '@new:d.test': 50 }));
        refused(room, levels(room, { [DAVE]: 51 }), /^m\.room\.power_levels: the sender may not raise @dave:a\.test to 51, above their own level/);
        refused(room, levels(room, { '@new:d.test': 51 }), /may not raise @new:d\.test to 51/);
      });

      it('a moderator may not change or remove a user at or above their level, but may lower their own', () => {
        const room = modRoom();
        refused(room, levels(room, { [CAROL]: 10 }), /^m\.room\.power_levels: the sender may not change the level of @carol:c\.test, at 50/);
        const { [CAROL]: _removed, ...withoutCarol } = users(room, {});
        refused(room, plEvent(BOB, { users: withoutCarol, events: { 'm.room.power_levels': 50 } }), /may not change the level of @carol:c\.test/);
        allowed(room, levels(room, { [DAVE]: 0 }));
        allowed(room, levels(room, { [BOB]: 20 }));
        refused(room, levels(room, { [BOB]: 60 }), /may not raise @bob:b\.test to 60/);
      });

      it('leaving users out removes them, which counts as a change', () => {
        const room = modRoom();
        refused(room, plEvent(BOB, { events: { 'm.room.power_levels': 50 } }), /may not change the level of/);
      });

      it('top-level levels may change only between values at most the sender\'s', () => {
        const room = modRoom();
        allowed(room, levels(room, {}, { ban: 40 }));
        allowed(room, levels(room, {}, { kick: 50 }));
        refused(room, levels(room, {}, { kick: 51 }), /^m\.room\.power_levels: the sender may not change kick from undefined to 51/);
        for (const name of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
          refused(room, levels(room, {}, { [name]: 60 }), new RegExp(`may not change ${name}`));
        }
        const high = modRoom({ state_default: 100 });
        refused(high, levels(high, {}, { state_default: 10 }), /may not change state_default from 100 to 10/);
        refused(high, levels(high, {}), /may not change state_default from 100 to undefined/);
        allowed(high, levels(high, {}, { state_default: 100 }));
      });

      it('events entries may change only between values at most the sender\'s', () => {
        const room = modRoom();
        allowed(room, levels(room, {}, { events: { 'm.room.power_levels': 50, 'm.room.topic': 40 } }));
        refused(room, levels(room, {}, { events: { 'm.room.power_levels': 50, 'm.room.topic': 60 } }), /may not change events\[m\.room\.topic\] from undefined to 60/);
        const high = modRoom({ events: { 'm.room.power_levels': 50, 'm.room.name': 100 } });
        refused(high, levels(high, {}, { events: { 'm.room.power_levels': 50, 'm.room.name': 0 } }), /may not change events\[m\.room\.name\] from 100 to 0/);
        refused(high, levels(high, {}, { events: { 'm.room.power_levels': 50 } }), /may not change events\[m\.room\.name\] from 100 to undefined/);
        allowed(high, levels(high, {}, { events: { 'm.room.power_levels': 50, 'm.room.name': 100 } }));
      });

      const notificationsChecked = Number(id) >= 6;
      it(`notifications entries ${notificationsChecked ? 'are' : 'are not'} limited like events`, () => {
        const room = modRoom({ notifications: { room: 100 } });
        const change = levels(room, {}, { notifications: { room: 0 } });
        const raise = levels(room, {}, { notifications: { room: 100, custom: 60 } });
        if (notificationsChecked) {
          refused(room, change, /may not change notifications\[room\] from 100 to 0/);
          refused(room, raise, /may not change notifications\[custom\] from undefined to 60/);
        } else {
          allowed(room, change);
          allowed(room, raise);
        }
      });

      it('an admin may change anything at or below their level', () => {
        const room = modRoom({ notifications: { room: 100 } });
        allowed(room, plEvent(ALICE, { users: { ...admin(room), [CAROL]: 100 }, ban: 100, notifications: {} }));
      });
    });
  }

  it('a demoted admin\'s later events are refused', () => {
    for (const id of ALL_VERSIONS) {
      const room = TestRoom.standard(id);
      room.join(BOB);
      room.join(CAROL);
      setLevels(room, { [BOB]: 90 });
      const topic: EventSpec = { type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 'mine' } };
      allowed(room, topic);
      allowed(room, room.member(BOB, 'ban', CAROL));
      setLevels(room, { [BOB]: 0 });
      refused(room, topic, /^power level: m\.room\.topic needs power level 50, the sender has 0/);
      refused(room, room.member(BOB, 'ban', CAROL), /^m\.room\.member ban: /);
      refused(room, plEvent(BOB, { users: { ...(room.version.privilegedCreators ? {} : { [ALICE]: 100 }), [BOB]: 90 } }), /^power level: /);
    }
  });

  describe('v12 creators', () => {
    it('refuses power levels naming a creator', () => {
      const room = new TestRoom(version('12'), ALICE, { additional_creators: [BOB] });
      room.join(ALICE);
      refused(room, plEvent(ALICE, { users: { [ALICE]: 100 } }), /^m\.room\.power_levels: users names the room creator @alice:a\.test/);
      refused(room, plEvent(ALICE, { users: { [BOB]: 100 } }), /users names the room creator @bob:b\.test/);
      allowed(room, plEvent(ALICE, { users: { [CAROL]: 100 } }));
    });

    it('before v12, power levels may name the creator', () => {
      const room = new TestRoom(version('11'), ALICE, { additional_creators: [BOB] });
      room.join(ALICE);
      allowed(room, plEvent(ALICE, { users: { [ALICE]: 100, [BOB]: 100 } }));
    });

    it('creators outrank every level and cannot be kicked, banned or demoted', () => {
      const room = new TestRoom(version('12'), ALICE, { additional_creators: [BOB] });
      room.join(ALICE);
      room.send({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: 'public' } });
      room.join(BOB);
      room.join(CAROL);
      room.powerLevels({ users: { [CAROL]: 9007199254740991 }, state_default: 9007199254740991, events: { 'm.room.power_levels': 9007199254740991 } });
      allowed(room, { type: 'm.room.topic', sender: BOB, state_key: '', content: {} });
      allowed(room, room.member(BOB, 'ban', CAROL));
      refused(room, room.member(CAROL, 'ban', BOB), /^m\.room\.member ban: /);
      refused(room, room.member(CAROL, 'leave', ALICE), /^m\.room\.member leave: /);
      refused(room, room.member(ALICE, 'ban', BOB), /not above the target's/);
      allowed(room, room.member(BOB, 'leave'));
      allowed(room, plEvent(BOB, { users: { [CAROL]: 0 }, state_default: 9007199254740991, events: { 'm.room.power_levels': 9007199254740991 } }));
    });
  });
});

/** Auth events selection, the rules on an event's auth events, and invites from third-party invites. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { authEventsSelection } from '../spec/auth-events';
import { authorize, authorizeByAuthEvents, checkAuthEvents } from '../spec/auth-rules';
import { splitStateTuple, type RoomEvent } from '../spec/pdu';
import { signingKeyPair, signJson } from '../spec/signing';
import {
  ALICE, ALL_VERSIONS, allowed, assertRefused, BOB, CAROL, DAVE, refused, setLevels, TestRoom, version, type EventSpec,
} from './helpers/events';

const tuples = (event: Parameters<typeof authEventsSelection>[0], id: string) =>
  authEventsSelection(event, version(id)).map((t) => {
    const { type, stateKey } = splitStateTuple(t);
    return `${type}|${stateKey}`;
  });

describe('auth events selection', () => {
  it('the create event has none', () => {
    assert.deepEqual(tuples({ type: 'm.room.create', sender: ALICE, state_key: '', content: {} }, '11'), []);
  });

  it('create (except v12), power levels and the sender\'s membership for any event', () => {
    const event = { type: 'm.room.message', sender: BOB, content: { body: 'x' } };
    for (const id of ALL_VERSIONS.filter((v) => v !== '12')) {
      assert.deepEqual(tuples(event, id), ['m.room.create|', 'm.room.power_levels|', `m.room.member|${BOB}`]);
    }
    assert.deepEqual(tuples(event, '12'), ['m.room.power_levels|', `m.room.member|${BOB}`]);
    assert.deepEqual(tuples({ type: 'm.room.name', sender: BOB, state_key: '', content: {} }, '12'), ['m.room.power_levels|', `m.room.member|${BOB}`]);
  });

  it('membership events add the target and, for join/invite/knock, the join rules', () => {
    const member = (membership: string, target = CAROL) => ({ type: 'm.room.member', sender: BOB, state_key: target, content: { membership } });
    for (const membership of ['join', 'invite', 'knock']) {
      assert.deepEqual(tuples(member(membership), '12'), ['m.room.power_levels|', `m.room.member|${BOB}`, `m.room.member|${CAROL}`, 'm.room.join_rules|']);
    }
    for (const membership of ['leave', 'ban']) {
      assert.deepEqual(tuples(member(membership), '12'), ['m.room.power_levels|', `m.room.member|${BOB}`, `m.room.member|${CAROL}`]);
    }
    assert.deepEqual(tuples(member('join', BOB), '12'), ['m.room.power_levels|', `m.room.member|${BOB}`, 'm.room.join_rules|']);
  });

  it('an invite from a third-party invite adds the m.room.third_party_invite named by the token', () => {
    const content = { membership: 'invite', third_party_invite: { display_name: 'c', signed: { mxid: CAROL, token: 'tok', signatures: {} } } };
    const selected = tuples({ type: 'm.room.member', sender: BOB, state_key: CAROL, content }, '1');
    assert.ok(selected.includes('m.room.third_party_invite|tok'));
    const join = tuples({ type: 'm.room.member', sender: CAROL, state_key: CAROL, content: { ...content, membership: 'join' } }, '1');
    assert.ok(!join.some((t) => t.startsWith('m.room.third_party_invite')));
  });

  it('a restricted join adds the authorising user\'s membership from v8', () => {
    const join = { type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'join', join_authorised_via_users_server: DAVE } };
    for (const id of ALL_VERSIONS) {
      assert.equal(tuples(join, id).includes(`m.room.member|${DAVE}`), Number(id) >= 8, `v${id}`);
    }
    const invite = { ...join, state_key: CAROL, content: { ...join.content, membership: 'invite' } };
    assert.ok(!tuples(invite, '10').includes(`m.room.member|${DAVE}`));
  });
});

describe('auth rules: the event\'s auth events', () => {
  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      const v = version(id);
      const implied = v.eventFormat === 'v12';
      function setup() {
        const room = TestRoom.standard(id, ALICE, 'invite');
        room.send(room.member(ALICE, 'invite', BOB));
        const byId = new Map<string, RoomEvent>([...room.state.values()].map((e) => [e.id, e]));
        return { room, events: [...byId.values()] };
      }
      const authorise = (room: TestRoom, event: RoomEvent, events: RoomEvent[], isRejected?: (id: string) => boolean) =>
        authorizeByAuthEvents(event, events, room.version, { create: room.create, isRejected });

      it('accepts the selected auth events and authorises against them', () => {
        const { room, events } = setup();
        const join = room.build(room.member(BOB, 'join'));
        const state = checkAuthEvents(join, events, v);
        assert.equal(state.size, implied ? 3 : 4);
        authorise(room, join, events);
      });

      it('refuses the event when its auth events do not authorise it', () => {
        const { room, events } = setup();
        const joinRules = [...room.state.values()].find((e) => e.pdu.type === 'm.room.join_rules')!;
        const powerLevels = [...room.state.values()].find((e) => e.pdu.type === 'm.room.power_levels')!;
        const withoutInvite = [room.create, joinRules, powerLevels].filter((e) => !implied || e !== room.create).map((e) => e.id);
        const join = room.build({ ...room.member(BOB, 'join'), auth_events: withoutInvite });
        assertRefused(() => authorise(room, join, events), /^m\.room\.member join: join rule invite and the sender is not invited/);
      });

      it('refuses duplicate entries for one (type, state_key)', () => {
        const { room, events } = setup();
        const ids = authEventIdsOf(room.build(room.member(BOB, 'join')));
        const duplicated = room.build({ ...room.member(BOB, 'join'), auth_events: [...ids, ids[ids.length - 1]] });
        assertRefused(() => checkAuthEvents(duplicated, events, v), /^auth events: more than one auth event for/);
      });

      it('refuses entries auth events selection would not pick', () => {
        const { room, events } = setup();
        const joinRules = [...room.state.values()].find((e) => e.pdu.type === 'm.room.join_rules')!;
        const message = room.build({ type: 'm.room.message', sender: ALICE, content: {} });
        const ids = [...authEventIdsOf(message), joinRules.id];
        const extra = room.build({ type: 'm.room.message', sender: ALICE, content: {}, auth_events: ids });
        assertRefused(() => checkAuthEvents(extra, events, v), /^auth events: auth event \(m\.room\.join_rules, \) is not one auth events selection picks/);
      });

      if (implied) {
        it('refuses the create event among the auth events', () => {
          const { room, events } = setup();
          const message = room.build({ type: 'm.room.message', sender: ALICE, content: {} });
          const withCreate = room.build({ type: 'm.room.message', sender: ALICE, content: {}, auth_events: [room.create.id, ...authEventIdsOf(message)] });
          assertRefused(() => checkAuthEvents(withCreate, [...events, room.create], v), /m\.room\.create, \) is not one auth events selection picks/);
        });
      } else {
        it('refuses auth events without the create event', () => {
          const { room, events } = setup();
          const message = room.build({ type: 'm.room.message', sender: ALICE, content: {} });
          const without = room.build({ type: 'm.room.message', sender: ALICE, content: {}, auth_events: authEventIdsOf(message).filter((e) => e !== room.create.id) });
          assertRefused(() => checkAuthEvents(without, events, v), /^auth events: there is no m\.room\.create event among them/);
        });
      }

      it('refuses rejected, missing, non-state and foreign auth events', () => {
        const { room, events } = setup();
        const message = room.build({ type: 'm.room.message', sender: ALICE, content: {} });
        const powerLevels = [...room.state.values()].find((e) => e.pdu.type === 'm.room.power_levels')!;
        assertRefused(() => checkAuthEvents(message, events, v, (eventId) => eventId === powerLevels.id), /^auth events: auth event .* was rejected/);
        assertRefused(() => checkAuthEvents(message, events.filter((e) => e !== powerLevels), v), /^auth events: auth event .* is unavailable/);
        const stateless = { id: powerLevels.id, pdu: { ...powerLevels.pdu, state_key: undefined } };
        assertRefused(() => checkAuthEvents(message, [...events.filter((e) => e !== powerLevels), stateless], v), /is not a state event/);
        const foreign = { id: powerLevels.id, pdu: { ...powerLevels.pdu, room_id: '!elsewhere:a.test' } };
        assertRefused(() => checkAuthEvents(message, [...events.filter((e) => e !== powerLevels), foreign], v), /is in another room/);
      });
    });
  }

  it('the create event is not checked against auth events', () => {
    const room = TestRoom.standard('11');
    assert.equal(checkAuthEvents(room.create, [], room.version).size, 0);
  });

  it('a demoted admin\'s event passes against its auth events but not against the current state', () => {
    const room = TestRoom.standard('10');
    room.join(BOB);
    setLevels(room, { [BOB]: 90 });
    const authEvents = [...room.state.values()];
    const topic = room.build({ type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 'stale' } });
    setLevels(room, { [BOB]: 0 });
    authorizeByAuthEvents(topic, authEvents, room.version);
    assertRefused(() => authorize(topic, room.state, room.version), /^power level: /);
  });
});

function authEventIdsOf(event: RoomEvent): string[] {
  return event.pdu.auth_events.map((r) => (typeof r === 'string' ? r : r[0]));
}

describe('auth rules: invites from third-party invites', () => {
  const identityKey = signingKeyPair({ keyId: 'ed25519:0', seed: randomBytes(32) });
  const otherKey = signingKeyPair({ keyId: 'ed25519:0', seed: randomBytes(32) });
  const TOKEN = 'invite-token';

  function setup(id: string, keys: Record<string, unknown> = { public_key: identityKey.publicKeyBase64 }): TestRoom {
    const room = TestRoom.standard(id, ALICE, 'invite');
    room.send({
      type: 'm.room.third_party_invite',
      sender: ALICE,
      state_key: TOKEN,
      content: { display_name: 'c...@example.org', key_validity_url: 'https://id.test/isvalid', ...keys },
    });
    return room;
  }

  function invite(signed: Record<string, unknown> | undefined, sender = ALICE, target = CAROL): EventSpec {
    const thirdPartyInvite = signed === undefined ? { display_name: 'c' } : { display_name: 'c', signed };
    return { type: 'm.room.member', sender, state_key: target, content: { membership: 'invite', third_party_invite: thirdPartyInvite } };
  }

  const signedBy = (key = identityKey, fields: Record<string, unknown> = { mxid: CAROL, token: TOKEN }) => signJson(fields, 'id.test', key);

  for (const id of ALL_VERSIONS) {
    describe(`room version ${id}`, () => {
      it('allows an invite whose signed block is signed by the invite\'s public key', () => {
        const room = setup(id);
        allowed(room, invite(signedBy()));
        room.send(invite(signedBy()));
        allowed(room, room.member(CAROL, 'join'));
      });

      it('accepts a key from public_keys', () => {
        const room = setup(id, { public_key: otherKey.publicKeyBase64, public_keys: [{ public_key: 'junk' }, { public_key: identityKey.publicKeyBase64 }] });
        allowed(room, invite(signedBy()));
      });

      it('accepts URL-safe Base64 keys', () => {
        const urlSafe = identityKey.publicKeyBase64.replace(/\+/g, '-').replace(/\//g, '_');
        allowed(setup(id, { public_key: urlSafe }), invite(signedBy()));
      });

      it('refuses a signature by another key, or a tampered signed block', () => {
        const room = setup(id);
        refused(room, invite(signedBy(otherKey)), /^m\.room\.member invite third_party_invite: no signature in signed matches/);
        refused(room, invite({ ...signedBy(), extra: 'field' }), /no signature in signed matches/);
        refused(room, invite({ ...signedBy(), signatures: {} }), /no signature in signed matches/);
      });

      it('refuses missing or mismatched fields', () => {
        const room = setup(id);
        refused(room, invite(undefined), /^m\.room\.member invite third_party_invite: no signed property/);
        refused(room, { ...invite(undefined), content: { membership: 'invite', third_party_invite: 'x' } }, /no signed property/);
        refused(room, invite(signedBy(identityKey, { token: TOKEN })), /signed lacks mxid or token/);
        refused(room, invite(signedBy(identityKey, { mxid: CAROL })), /signed lacks mxid or token/);
        refused(room, invite(signedBy(), ALICE, DAVE), /signed\.mxid is not the state_key/);
        refused(room, invite(signedBy(identityKey, { mxid: CAROL, token: 'other' })), /no m\.room\.third_party_invite has the token/);
      });

      it('refuses an invite from someone other than the third-party invite\'s sender', () => {
        const room = setup(id);
        room.forceMembership(BOB, 'join');
        refused(room, invite(signedBy(), BOB), /the sender did not send the m\.room\.third_party_invite/);
      });

      it('refuses a banned target', () => {
        const room = setup(id);
        room.send(room.member(ALICE, 'ban', CAROL));
        refused(room, invite(signedBy()), /^m\.room\.member invite: the target is banned/);
      });
    });
  }
});

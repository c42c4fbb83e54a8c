import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stateTuple, type StateMap } from '../spec/pdu';
import { roomVersion } from '../spec/room-versions';
import { resolveState } from '../spec/state-resolution';
import { ALICE, authorizeForTests, BOB, CHARLIE, Dag, EVE } from './helpers/dag';

const PL = stateTuple('m.room.power_levels', '');
const JR = stateTuple('m.room.join_rules', '');
const TOPIC = stateTuple('m.room.topic', '');
const NAME = stateTuple('m.room.name', '');
const member = (user: string) => stateTuple('m.room.member', user);

/** Room versions 1 (v1), 2 and 11 (v2), 12 (v2.1). */
const ALL = ['1', '2', '11', '12'];
const V2_FAMILY = ['2', '11', '12'];

function resolve(dag: Dag, ...stateSets: StateMap[]): Promise<StateMap> {
  return resolveState(dag.version, stateSets, dag.source(), authorizeForTests);
}

/** Alice created the room (100, or a creator in v12), Bob is a moderator (50), Charlie joined (0); public. */
function baseRoom(versionId: string, joinRule = 'public'): Dag {
  const dag = new Dag(roomVersion(versionId)!);
  dag.create('$create', ALICE);
  dag.member('$alice-join', ALICE, 'join');
  dag.powerLevels('$pl0', ALICE, { users: { [ALICE]: 100, [BOB]: 50 } });
  dag.joinRules('$jr0', ALICE, joinRule);
  dag.member('$bob-join', BOB, 'join');
  dag.member('$charlie-join', CHARLIE, 'join');
  return dag;
}

const BASE = ['$create', '$alice-join', '$pl0', '$jr0', '$bob-join', '$charlie-join'];

const sha1 = (id: string) => createHash('sha1').update(id).digest('hex');

describe('state resolution: scenarios', () => {
  describe('a ban racing a power-level change', () => {
    for (const version of ALL) {
      it(`the demotion wins and the demoted moderator's ban is dropped (room v${version})`, async () => {
        const dag = baseRoom(version);
        dag.powerLevels('$pl-demote', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: ['$charlie-join'] });
        dag.member('$ban-charlie', BOB, 'ban', CHARLIE, { prev: ['$charlie-join'] });

        const resolved = await resolve(dag, dag.stateAfter('$pl-demote'), dag.stateAfter('$ban-charlie'));

        assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl-demote'));
      });

      it(`the ban stands when the concurrent change leaves the moderator's power alone (room v${version})`, async () => {
        const dag = baseRoom(version);
        dag.powerLevels('$pl-other', ALICE, { users: { [ALICE]: 100, [BOB]: 50 }, state_default: 60 }, { prev: ['$charlie-join'] });
        dag.member('$ban-charlie', BOB, 'ban', CHARLIE, { prev: ['$charlie-join'] });

        const resolved = await resolve(dag, dag.stateAfter('$pl-other'), dag.stateAfter('$ban-charlie'));

        assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl-other', '$ban-charlie'));
      });
    }

    it('order of the state sets does not matter', async () => {
      const dag = baseRoom('11');
      dag.powerLevels('$pl-demote', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: ['$charlie-join'] });
      dag.member('$ban-charlie', BOB, 'ban', CHARLIE, { prev: ['$charlie-join'] });
      const a = dag.stateAfter('$pl-demote');
      const b = dag.stateAfter('$ban-charlie');
      assert.deepEqual(await resolve(dag, a, b), await resolve(dag, b, a));
    });
  });

  describe('join rules flipping while someone joins', () => {
    function flip(version: string, inviteEveFirst: boolean): Dag {
      const dag = baseRoom(version);
      if (inviteEveFirst) dag.member('$eve-invite', BOB, 'invite', EVE);
      const forkPoint = inviteEveFirst ? '$eve-invite' : '$charlie-join';
      dag.joinRules('$jr-invite', ALICE, 'invite', { prev: [forkPoint] });
      dag.member('$eve-join', EVE, 'join', EVE, { prev: [forkPoint] });
      return dag;
    }

    for (const version of V2_FAMILY) {
      it(`a join made under the old public rule is re-checked and dropped (room v${version})`, async () => {
        const dag = flip(version, false);
        const resolved = await resolve(dag, dag.stateAfter('$jr-invite'), dag.stateAfter('$eve-join'));
        assert.deepEqual(resolved, dag.stateOf(...BASE, '$jr-invite'));
        assert.equal(resolved.has(member(EVE)), false);
      });

      it(`an invited user's join survives the flip to invite-only (room v${version})`, async () => {
        const dag = flip(version, true);
        const resolved = await resolve(dag, dag.stateAfter('$jr-invite'), dag.stateAfter('$eve-join'));
        assert.deepEqual(resolved, dag.stateOf(...BASE, '$jr-invite', '$eve-join'));
      });
    }

    it('room v1 keeps the join: a key only one state has is no conflict there', async () => {
      const dag = flip('1', false);
      const resolved = await resolve(dag, dag.stateAfter('$jr-invite'), dag.stateAfter('$eve-join'));
      assert.deepEqual(resolved, dag.stateOf(...BASE, '$jr-invite', '$eve-join'));
    });
  });

  describe('concurrent topic edits', () => {
    function topics(version: string, tsA: number, tsB: number): Dag {
      const dag = baseRoom(version);
      dag.topic('$topic-a', ALICE, 'from Alice', { prev: ['$charlie-join'], ts: tsA });
      dag.topic('$topic-b', BOB, 'from Bob', { prev: ['$charlie-join'], ts: tsB });
      return dag;
    }

    for (const version of V2_FAMILY) {
      it(`the later origin_server_ts wins whoever sent it (room v${version})`, async () => {
        const earlierB = topics(version, 5000, 4000);
        const bothA = await resolve(earlierB, earlierB.stateAfter('$topic-a'), earlierB.stateAfter('$topic-b'));
        assert.equal(bothA.get(TOPIC), '$topic-a');

        const earlierA = topics(version, 4000, 5000);
        const bothB = await resolve(earlierA, earlierA.stateAfter('$topic-a'), earlierA.stateAfter('$topic-b'));
        assert.equal(bothB.get(TOPIC), '$topic-b');
      });

      it(`equal timestamps: the greater event ID is applied last and wins (room v${version})`, async () => {
        const dag = topics(version, 5000, 5000);
        const resolved = await resolve(dag, dag.stateAfter('$topic-b'), dag.stateAfter('$topic-a'));
        assert.equal(resolved.get(TOPIC), '$topic-b');
      });

      it(`a topic based on the newer power levels beats a later-stamped one based on older (room v${version})`, async () => {
        const dag = baseRoom(version);
        dag.powerLevels('$pl1', ALICE, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.name': 50 } }, { prev: ['$charlie-join'] });
        dag.topic('$topic-a', ALICE, 'newer base', { ts: 2000 });
        dag.message('$msg1', BOB, { prev: ['$charlie-join'] });
        dag.message('$msg2', BOB);
        dag.topic('$topic-b', BOB, 'older base', { ts: 9000 });

        const resolved = await resolve(dag, dag.stateAfter('$topic-a'), dag.stateAfter('$topic-b'));

        assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl1', '$topic-a'));
      });
    }

    it('room v1: the deeper topic wins, whatever the power levels and timestamps', async () => {
      const dag = baseRoom('1');
      dag.powerLevels('$pl1', ALICE, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.name': 50 } }, { prev: ['$charlie-join'] });
      dag.topic('$topic-a', ALICE, 'newer base', { ts: 2000 });
      dag.message('$msg1', BOB, { prev: ['$charlie-join'] });
      dag.message('$msg2', BOB);
      dag.topic('$topic-b', BOB, 'older base', { ts: 9000 });

      const resolved = await resolve(dag, dag.stateAfter('$topic-a'), dag.stateAfter('$topic-b'));

      assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl1', '$topic-b'));
    });

    it('room v1: equal depth goes to the lower sha1(event_id)', async () => {
      const dag = topics('1', 5000, 4000);
      const resolved = await resolve(dag, dag.stateAfter('$topic-a'), dag.stateAfter('$topic-b'));
      const expected = sha1('$topic-a') < sha1('$topic-b') ? '$topic-a' : '$topic-b';
      assert.equal(resolved.get(TOPIC), expected);
    });
  });

  describe("a demoted moderator's later events", () => {
    function demotion(version: string): Dag {
      const dag = baseRoom(version);
      dag.topic('$topic0', ALICE, 'original');
      dag.powerLevels('$pl-demote', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: ['$topic0'] });
      dag.topic('$bob-topic', BOB, 'from Bob', { prev: ['$topic0'] });
      dag.member('$bob-kick', BOB, 'leave', CHARLIE);
      dag.add({ id: '$bob-name', type: 'm.room.name', sender: BOB, stateKey: '', content: { name: 'Bob' } });
      return dag;
    }

    for (const version of V2_FAMILY) {
      it(`are all re-checked against the demotion and dropped (room v${version})`, async () => {
        const dag = demotion(version);
        const resolved = await resolve(dag, dag.stateAfter('$pl-demote'), dag.stateAfter('$bob-name'));
        assert.deepEqual(resolved, dag.stateOf(...BASE, '$topic0', '$pl-demote'));
      });
    }

    it('room v1 drops the conflicting ones but keeps the name only his fork has', async () => {
      const dag = demotion('1');
      const resolved = await resolve(dag, dag.stateAfter('$pl-demote'), dag.stateAfter('$bob-name'));
      assert.deepEqual(resolved, dag.stateOf(...BASE, '$topic0', '$pl-demote', '$bob-name'));
    });

    it('room v12: a creator can demote a 100 admin, whose concurrent events then fail', async () => {
      const dag = new Dag(roomVersion('12')!);
      dag.create('$create', ALICE);
      dag.member('$alice-join', ALICE, 'join');
      dag.powerLevels('$pl0', ALICE, { users: { [BOB]: 100 } });
      dag.joinRules('$jr0', ALICE, 'public');
      dag.member('$bob-join', BOB, 'join');
      dag.member('$charlie-join', CHARLIE, 'join');
      dag.powerLevels('$pl-demote', ALICE, { users: { [BOB]: 0 } }, { prev: ['$charlie-join'] });
      dag.member('$bob-ban', BOB, 'ban', CHARLIE, { prev: ['$charlie-join'] });
      dag.topic('$bob-topic', BOB, 'admin topic');

      const resolved = await resolve(dag, dag.stateAfter('$pl-demote'), dag.stateAfter('$bob-topic'));

      assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl-demote'));
    });
  });

  describe('the auth difference', () => {
    /** On one fork Alice made Bob an admin, who then raised the state default; the other fork saw neither. */
    function promotedThenChanged(version: string): Dag {
      const dag = baseRoom(version);
      dag.powerLevels('$pl-promote', ALICE, { users: { [ALICE]: 100, [BOB]: 100 } }, { prev: ['$charlie-join'] });
      dag.powerLevels('$pl-by-bob', BOB, { users: { [ALICE]: 100, [BOB]: 100 }, state_default: 100 });
      dag.topic('$topic', ALICE, 'other fork', { prev: ['$charlie-join'] });
      return dag;
    }

    for (const version of V2_FAMILY) {
      it(`replays the promotion only one fork's chain holds, so the change it enabled passes (room v${version})`, async () => {
        const dag = promotedThenChanged(version);
        const resolved = await resolve(dag, dag.stateAfter('$pl-by-bob'), dag.stateAfter('$topic'));
        assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl-by-bob', '$topic'));
      });
    }

    it('room v1 looks at no auth chains: the change is judged against the older levels and stops the replay', async () => {
      const dag = promotedThenChanged('1');
      const resolved = await resolve(dag, dag.stateAfter('$pl-by-bob'), dag.stateAfter('$topic'));
      assert.deepEqual(resolved, dag.stateOf(...BASE, '$topic'));
    });
  });

  describe('a conflicted member event', () => {
    function leaveOrRename(version: string, tsLeave: number, tsRename: number): Dag {
      const dag = baseRoom(version);
      dag.member('$charlie-leave', CHARLIE, 'leave', CHARLIE, { prev: ['$charlie-join'], ts: tsLeave });
      dag.add({
        id: '$charlie-rename',
        type: 'm.room.member',
        sender: CHARLIE,
        stateKey: CHARLIE,
        content: { membership: 'join', displayname: 'Chaz' },
        prev: ['$charlie-join'],
        ts: tsRename,
      });
      return dag;
    }

    for (const version of V2_FAMILY) {
      it(`goes to the later of the user's own changes (room v${version})`, async () => {
        const renamedLater = leaveOrRename(version, 4000, 5000);
        const a = await resolve(renamedLater, renamedLater.stateAfter('$charlie-leave'), renamedLater.stateAfter('$charlie-rename'));
        assert.equal(a.get(member(CHARLIE)), '$charlie-rename');

        const leftLater = leaveOrRename(version, 5000, 4000);
        const b = await resolve(leftLater, leftLater.stateAfter('$charlie-leave'), leftLater.stateAfter('$charlie-rename'));
        assert.equal(b.get(member(CHARLIE)), '$charlie-leave');
      });
    }

    it('room v1: replayed shallowest first, equal depth by descending sha1, so the lower hash is applied last', async () => {
      const dag = leaveOrRename('1', 4000, 5000);
      const resolved = await resolve(dag, dag.stateAfter('$charlie-leave'), dag.stateAfter('$charlie-rename'));
      const expected = sha1('$charlie-leave') < sha1('$charlie-rename') ? '$charlie-leave' : '$charlie-rename';
      assert.equal(resolved.get(member(CHARLIE)), expected);
    });
  });

  describe('unconflicted state', () => {
    for (const version of ALL) {
      it(`is kept even where the resolved power levels would no longer allow it (room v${version})`, async () => {
        const dag = baseRoom(version);
        dag.add({ id: '$bob-name', type: 'm.room.name', sender: BOB, stateKey: '', content: { name: 'Bob' } });
        dag.powerLevels('$pl-demote', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: ['$bob-name'] });
        dag.topic('$topic-a', ALICE, 'concurrent', { prev: ['$bob-name'] });

        const resolved = await resolve(dag, dag.stateAfter('$pl-demote'), dag.stateAfter('$topic-a'));

        assert.deepEqual(resolved, dag.stateOf(...BASE, '$bob-name', '$pl-demote', '$topic-a'));
      });
    }

    it('needs no events fetched when nothing conflicts', async () => {
      const dag = baseRoom('11');
      const source = dag.source();
      const state = dag.stateAfter('$charlie-join');
      const resolved = await resolveState(dag.version, [state, new Map(state)], source, authorizeForTests);
      assert.deepEqual(resolved, state);
      assert.deepEqual(source.calls, []);
    });

    it('resolving no states gives the empty state, and one state itself', async () => {
      const dag = baseRoom('12');
      assert.deepEqual(await resolve(dag), new Map());
      const state = dag.stateAfter('$charlie-join');
      const resolved = await resolve(dag, state);
      assert.deepEqual(resolved, state);
      assert.notEqual(resolved, state);
    });
  });

  describe('room v1 replays power levels from the shallowest and stops at the first not allowed', () => {
    it('ignores a deeper allowed change behind a disallowed one', async () => {
      const dag = baseRoom('1');
      dag.powerLevels('$pl-alice', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: ['$charlie-join'] });
      dag.message('$m1', BOB, { prev: ['$charlie-join'] });
      dag.powerLevels('$pl-bob', BOB, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.topic': 25 } });
      dag.message('$m2', ALICE, { prev: ['$charlie-join'] });
      dag.message('$m3', ALICE);
      dag.message('$m4', ALICE);
      dag.powerLevels('$pl-alice2', ALICE, { users: { [ALICE]: 100, [BOB]: 40 } });

      const resolved = await resolve(dag, dag.stateAfter('$pl-alice'), dag.stateAfter('$pl-bob'), dag.stateAfter('$pl-alice2'));

      assert.equal(resolved.get(PL), '$pl-alice');
    });

    it('with no disallowed change in the way, the deepest is applied last', async () => {
      const dag = baseRoom('1');
      dag.powerLevels('$pl-alice', ALICE, { users: { [ALICE]: 100, [BOB]: 50 }, state_default: 60 }, { prev: ['$charlie-join'] });
      dag.message('$m2', ALICE, { prev: ['$charlie-join'] });
      dag.message('$m3', ALICE);
      dag.powerLevels('$pl-alice2', ALICE, { users: { [ALICE]: 100, [BOB]: 40 } });

      const resolved = await resolve(dag, dag.stateAfter('$pl-alice'), dag.stateAfter('$pl-alice2'));

      assert.equal(resolved.get(PL), '$pl-alice2');
    });
  });

  describe('room v12 (state resolution v2.1) against v2', () => {
    /** Bob set power levels, then left; one state saw the leave but not his change. */
    function leftAfterChangingPowerLevels(version: string): { dag: Dag; withChange: StateMap; withoutChange: StateMap } {
      const dag = baseRoom(version);
      dag.powerLevels('$pl-bob', BOB, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.topic': 0 } });
      dag.member('$bob-leave', BOB, 'leave');
      const withChange = dag.stateAfter('$bob-leave');
      const withoutChange = dag.stateOf(...BASE, '$bob-leave');
      return { dag, withChange, withoutChange };
    }

    it('v2 checks power events against the unconflicted state: a later leave voids the change', async () => {
      const { dag, withChange, withoutChange } = leftAfterChangingPowerLevels('11');
      const resolved = await resolve(dag, withChange, withoutChange);
      assert.equal(resolved.get(PL), '$pl0');
      assert.equal(resolved.get(member(BOB)), '$bob-leave');
    });

    it('v2.1 starts from an empty state: the change is judged by its own auth events and kept', async () => {
      const { dag, withChange, withoutChange } = leftAfterChangingPowerLevels('12');
      const resolved = await resolve(dag, withChange, withoutChange);
      assert.deepEqual(resolved, dag.stateOf(...BASE, '$pl-bob', '$bob-leave'));
    });

    it('v2.1: a rejected event on the conflicted state subgraph is re-checked like any other event', async () => {
      const { dag, withChange, withoutChange } = leftAfterChangingPowerLevels('12');
      dag.rejected.add('$bob-join');
      const resolved = await resolve(dag, withChange, withoutChange);
      assert.equal(resolved.get(PL), '$pl-bob');
    });

    /**
     * Concurrent topics; the server rejected Bob's join, which his topic
     * cites. (His earlier name event cites it too, so it is in every auth
     * chain and not in the full conflicted set.)
     */
    function topicsWithRejectedJoin(version: string): Dag {
      const dag = baseRoom(version);
      dag.add({ id: '$bob-name', type: 'm.room.name', sender: BOB, stateKey: '', content: { name: 'Bob' } });
      dag.topic('$topic-a', ALICE, 'from Alice', { prev: ['$bob-name'], ts: 4000 });
      dag.topic('$topic-b', BOB, 'from Bob', { prev: ['$bob-name'], ts: 5000 });
      dag.rejected.add('$bob-join');
      return dag;
    }

    it('v2 takes the sender from the unconflicted state, so a rejected auth event goes unasked', async () => {
      const dag = topicsWithRejectedJoin('11');
      const resolved = await resolve(dag, dag.stateAfter('$topic-a'), dag.stateAfter('$topic-b'));
      assert.equal(resolved.get(TOPIC), '$topic-b');
    });

    it('v2.1 falls back on auth events for the sender, and does not use a rejected one', async () => {
      const dag = topicsWithRejectedJoin('12');
      const resolved = await resolve(dag, dag.stateAfter('$topic-a'), dag.stateAfter('$topic-b'));
      assert.equal(resolved.get(TOPIC), '$topic-a');
      assert.equal(resolved.get(member(BOB)), '$bob-join', 'the unconflicted state still has the last word');
    });

    /**
     * Bob was invited, joined, set a topic and power levels, and left. One
     * state has him invited (but his topic); the other has him gone after the
     * change. His join is on the auth path from his change to his invite.
     */
    function inviteJoinChangeLeave(version: string): { dag: Dag; a: StateMap; b: StateMap } {
      const dag = new Dag(roomVersion(version)!);
      dag.create('$create', ALICE);
      dag.member('$alice-join', ALICE, 'join');
      dag.powerLevels('$pl0', ALICE, { users: { [ALICE]: 100, [BOB]: 50 } });
      dag.joinRules('$jr0', ALICE, 'invite');
      dag.member('$bob-invite', ALICE, 'invite', BOB);
      dag.member('$bob-join', BOB, 'join');
      dag.topic('$bob-topic', BOB, "Bob's");
      dag.powerLevels('$pl-bob', BOB, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.topic': 0 } });
      dag.member('$bob-leave', BOB, 'leave');
      const common = ['$create', '$alice-join', '$jr0', '$bob-topic'];
      return {
        dag,
        a: dag.stateOf(...common, '$pl0', '$bob-invite'),
        b: dag.stateOf(...common, '$pl-bob', '$bob-leave'),
      };
    }

    it('v2: the join is not in the full conflicted set, so the invite stands when the change is checked', async () => {
      const { dag, a, b } = inviteJoinChangeLeave('11');
      const resolved = await resolve(dag, a, b);
      assert.equal(resolved.get(PL), '$pl0');
      assert.equal(resolved.get(member(BOB)), '$bob-leave');
    });

    it('v2.1: the conflicted state subgraph brings the join back in, so the change passes', async () => {
      const { dag, a, b } = inviteJoinChangeLeave('12');
      const resolved = await resolve(dag, a, b);
      assert.deepEqual(resolved, dag.stateOf('$create', '$alice-join', '$jr0', '$bob-topic', '$pl-bob', '$bob-leave'));
    });
  });

  describe('events the source does not have', () => {
    for (const version of ALL) {
      it(`are left out of a conflict (room v${version})`, async () => {
        const dag = baseRoom(version);
        dag.topic('$topic-a', ALICE, 'known', { prev: ['$charlie-join'] });
        const withUnknown = dag.stateAfter('$charlie-join');
        withUnknown.set(TOPIC, '$not-stored');
        withUnknown.set(NAME, '$not-stored-either');

        const resolved = await resolve(dag, dag.stateAfter('$topic-a'), withUnknown);

        assert.equal(resolved.get(TOPIC), '$topic-a');
        const expectName = version === '1' ? '$not-stored-either' : undefined;
        assert.equal(resolved.get(NAME), expectName);
      });
    }
  });

  describe('three states at once', () => {
    for (const version of V2_FAMILY) {
      it(`resolves a topic, a ban and a join-rule change from three forks (room v${version})`, async () => {
        const dag = baseRoom(version);
        dag.topic('$topic-a', ALICE, 'one', { prev: ['$charlie-join'] });
        dag.member('$ban-charlie', BOB, 'ban', CHARLIE, { prev: ['$charlie-join'] });
        dag.joinRules('$jr-invite', ALICE, 'invite', { prev: ['$charlie-join'] });

        const resolved = await resolve(
          dag,
          dag.stateAfter('$topic-a'),
          dag.stateAfter('$ban-charlie'),
          dag.stateAfter('$jr-invite'),
        );

        assert.deepEqual(resolved, dag.stateOf(...BASE, '$topic-a', '$ban-charlie', '$jr-invite'));
        assert.equal(resolved.get(JR), '$jr-invite');
      });
    }
  });
});

import assert from 'node:assert/strict';
import { AuthError, stateTuple, type Authorize, type Pdu, type StateMap } from '../spec/pdu';
import { roomVersion, type RoomVersion } from '../spec/room-versions';
import { authStateKeys, isPowerEvent } from '../spec/state-resolution/auth-selection';
import { compareCodePoints, sha1Hex } from '../spec/state-resolution/compare';
import { authDifference, conflictedStateSubgraph, fullConflictedSet } from '../spec/state-resolution/conflicted-set';
import { EventGraph } from '../spec/state-resolution/event-graph';
import { iterativeAuthChecks } from '../spec/state-resolution/iterative-auth-checks';
import { mainlineOrder, mainlinePositions } from '../spec/state-resolution/mainline-ordering';
import { MinHeap } from '../spec/state-resolution/min-heap';
import { PowerLevels, powerLevelValue, roomCreators } from '../spec/power-levels';

const userPowerLevel = (user: string, levels: Pdu | undefined, create: Pdu | undefined, v: RoomVersion) =>
  new PowerLevels(levels?.content, roomCreators(create, v), v).user(user);
import { reverseTopologicalPowerOrder } from '../spec/state-resolution/power-ordering';
import { partitionStateSets, partitionStateSetsV1 } from '../spec/state-resolution/state-sets';
import { ALICE, authorizeForTests, BOB, CHARLIE, Dag } from './helpers/dag';

const version = (id: string): RoomVersion => roomVersion(id)!;
const PL = stateTuple('m.room.power_levels', '');
const member = (user: string) => stateTuple('m.room.member', user);

async function graphOf(dag: Dag, ...ids: string[]): Promise<EventGraph> {
  const graph = new EventGraph(dag.source(), dag.version);
  await graph.loadAuthClosure(ids.length > 0 ? ids : [...dag.events.keys()]);
  return graph;
}

/** Events of a bare test type whose only edges are the ones given. */
function node(dag: Dag, id: string, auth: string[], sender = ALICE): void {
  dag.add({ id, type: 'x.node', sender, stateKey: id, auth, prev: [] });
}

function baseRoom(versionId: string): Dag {
  const dag = new Dag(version(versionId));
  dag.create('$create', ALICE);
  dag.member('$alice-join', ALICE, 'join');
  dag.powerLevels('$pl0', ALICE, { users: { [ALICE]: 100, [BOB]: 50 } });
  dag.joinRules('$jr0', ALICE, 'public');
  dag.member('$bob-join', BOB, 'join');
  dag.member('$charlie-join', CHARLIE, 'join');
  return dag;
}

describe('state resolution: parts', () => {
  describe('splitting the states', () => {
    const a: StateMap = new Map([['k1', '$1'], ['k2', '$2'], ['k3', '$3']]);
    const b: StateMap = new Map([['k1', '$1'], ['k2', '$2b']]);

    it('v2: a key with one event in every state is unconflicted; a differing or missing one is conflicted', () => {
      const { unconflicted, conflicted } = partitionStateSets([a, b]);
      assert.deepEqual(unconflicted, new Map([['k1', '$1']]));
      assert.deepEqual(conflicted, new Set(['$2', '$2b', '$3']));
    });

    it('v1: only differing events conflict; a key some states lack is kept', () => {
      const { unconflicted, conflicts } = partitionStateSetsV1([a, b]);
      assert.deepEqual(unconflicted, new Map([['k1', '$1'], ['k3', '$3']]));
      assert.deepEqual(conflicts, new Map([['k2', ['$2', '$2b']]]));
    });
  });

  describe('auth difference', () => {
    it('is the union of the states\' full auth chains minus their intersection', async () => {
      const dag = baseRoom('11');
      dag.powerLevels('$pl-demote', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, { prev: ['$charlie-join'] });
      dag.member('$ban', BOB, 'ban', CHARLIE, { prev: ['$charlie-join'] });
      const states = [dag.stateAfter('$pl-demote'), dag.stateAfter('$ban')];
      const { unconflicted } = partitionStateSets(states);
      const graph = await graphOf(dag);
      // Only the ban cites Bob's and Charlie's joins; the state events themselves are not in their own chains.
      assert.deepEqual(authDifference(graph, states, unconflicted), new Set(['$bob-join', '$charlie-join']));
    });

    it('matches a direct computation from per-state auth chains on an irregular graph', async () => {
      const dag = new Dag(version('11'));
      node(dag, '$r', []);
      node(dag, '$a', ['$r']);
      node(dag, '$b', ['$a']);
      node(dag, '$c', ['$r']);
      node(dag, '$d', ['$b', '$c']);
      node(dag, '$e', ['$c']);
      node(dag, '$g', ['$c']);
      node(dag, '$u', ['$a']);
      const states = [dag.stateOf('$u', '$d'), dag.stateOf('$u', '$e'), dag.stateOf('$u', '$g')];
      const graph = await graphOf(dag);
      const chains = states.map((state) => graph.authChain(state.values()));
      const union = new Set(chains.flatMap((chain) => [...chain]));
      const expected = new Set([...union].filter((id) => !chains.every((chain) => chain.has(id))));
      assert.deepEqual(authDifference(graph, states, partitionStateSets(states).unconflicted), expected);
      assert.deepEqual(expected, new Set(['$b']), '$c is in every chain, $a and $r in the unconflicted ones');
    });
  });

  describe('conflicted state subgraph (v12)', () => {
    it('is every event on an auth path from one conflicted event to another, endpoints included', async () => {
      const dag = new Dag(version('12'));
      node(dag, '$root', []);
      node(dag, '$low', ['$root']);
      node(dag, '$mid1', ['$low']);
      node(dag, '$mid2', ['$low', '$root']);
      node(dag, '$high', ['$mid1', '$mid2']);
      node(dag, '$above', ['$high']);
      node(dag, '$side', ['$low']);
      const graph = await graphOf(dag);
      assert.deepEqual(
        conflictedStateSubgraph(graph, new Set(['$high', '$low'])),
        new Set(['$high', '$mid1', '$mid2', '$low']),
      );
      assert.deepEqual(conflictedStateSubgraph(graph, new Set(['$above', '$side'])), new Set(['$above', '$side']));
    });

    it('joins the full conflicted set only from room version 12', async () => {
      const dag = new Dag(version('12'));
      dag.create('$create', ALICE);
      dag.member('$alice-join', ALICE, 'join');
      dag.powerLevels('$pl0', ALICE, { users: { [BOB]: 50 } });
      dag.joinRules('$jr0', ALICE, 'invite');
      dag.member('$bob-invite', ALICE, 'invite', BOB);
      dag.member('$bob-join', BOB, 'join');
      dag.topic('$bob-topic', BOB, "Bob's");
      dag.powerLevels('$pl-bob', BOB, { users: { [BOB]: 50 }, events: { 'm.room.topic': 0 } });
      dag.member('$bob-leave', BOB, 'leave');
      const common = ['$create', '$alice-join', '$jr0', '$bob-topic'];
      const states = [dag.stateOf(...common, '$pl0', '$bob-invite'), dag.stateOf(...common, '$pl-bob', '$bob-leave')];
      const { unconflicted, conflicted } = partitionStateSets(states);
      const graph = await graphOf(dag);

      const without = fullConflictedSet(graph, states, unconflicted, conflicted, false);
      const withSubgraph = fullConflictedSet(graph, states, unconflicted, conflicted, true);

      assert.deepEqual(without, new Set(['$pl0', '$pl-bob', '$bob-invite', '$bob-leave']));
      assert.deepEqual(withSubgraph, new Set([...without, '$bob-join', '$jr0']));
    });
  });

  describe('reverse topological power ordering', () => {
    function room(): Dag {
      const dag = baseRoom('11');
      return dag;
    }

    it('puts the sender with more power first, before timestamps', async () => {
      const dag = room();
      dag.joinRules('$by-bob', BOB, 'invite', { prev: ['$charlie-join'], ts: 1 });
      dag.joinRules('$by-alice', ALICE, 'public', { prev: ['$charlie-join'], ts: 2 });
      const graph = await graphOf(dag);
      assert.deepEqual(reverseTopologicalPowerOrder(new Set(['$by-bob', '$by-alice']), graph), ['$by-alice', '$by-bob']);
    });

    it('then the earlier origin_server_ts, then the lesser event ID', async () => {
      const dag = room();
      dag.joinRules('$z', ALICE, 'invite', { prev: ['$charlie-join'], ts: 1 });
      dag.joinRules('$y', ALICE, 'invite', { prev: ['$charlie-join'], ts: 2 });
      dag.joinRules('$x', ALICE, 'invite', { prev: ['$charlie-join'], ts: 2 });
      const graph = await graphOf(dag);
      assert.deepEqual(reverseTopologicalPowerOrder(new Set(['$x', '$y', '$z']), graph), ['$z', '$x', '$y']);
    });

    it('never puts an event before one of its auth events in the set, whatever the power', async () => {
      const dag = room();
      dag.powerLevels('$pl1', BOB, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.topic': 10 } }, { ts: 1 });
      dag.joinRules('$jr1', ALICE, 'invite', { ts: 9 });
      dag.powerLevels('$pl2', ALICE, { users: { [ALICE]: 100, [BOB]: 40 } }, { prev: ['$charlie-join'], ts: 0 });
      const graph = await graphOf(dag);
      // $jr1 (Alice) cites $pl1 (Bob); $pl2 (Alice) is independent and earliest.
      assert.deepEqual(reverseTopologicalPowerOrder(new Set(['$jr1', '$pl1', '$pl2', '$pl0']), graph), [
        '$pl0',
        '$pl2',
        '$pl1',
        '$jr1',
      ]);
    });

    it("reads the sender's power from the event's own auth events", async () => {
      const dag = room();
      dag.powerLevels('$pl-up', ALICE, { users: { [ALICE]: 100, [BOB]: 90 } });
      dag.joinRules('$bob-after', BOB, 'invite', { ts: 5000 });
      dag.joinRules('$alice-before', ALICE, 'invite', { prev: ['$charlie-join'], ts: 4000 });
      dag.joinRules('$bob-before', BOB, 'invite', { prev: ['$charlie-join'], ts: 3000 });
      const graph = await graphOf(dag);
      assert.deepEqual(reverseTopologicalPowerOrder(new Set(['$bob-after', '$bob-before', '$alice-before']), graph), [
        '$alice-before',
        '$bob-after',
        '$bob-before',
      ]);
    });

    it('v12: creators outrank everyone, and tie among themselves', async () => {
      const dag = new Dag(version('12'));
      dag.create('$create', ALICE, { additional_creators: [CHARLIE] });
      dag.member('$alice-join', ALICE, 'join');
      dag.powerLevels('$pl0', ALICE, { users: { [BOB]: 100 } });
      dag.joinRules('$jr0', ALICE, 'public');
      dag.member('$bob-join', BOB, 'join');
      dag.member('$charlie-join', CHARLIE, 'join');
      dag.joinRules('$bob', BOB, 'invite', { prev: ['$charlie-join'], ts: 1 });
      dag.joinRules('$charlie', CHARLIE, 'invite', { prev: ['$charlie-join'], ts: 3 });
      dag.joinRules('$alice', ALICE, 'invite', { prev: ['$charlie-join'], ts: 2 });
      const graph = await graphOf(dag);
      assert.deepEqual(reverseTopologicalPowerOrder(new Set(['$bob', '$charlie', '$alice']), graph), ['$alice', '$charlie', '$bob']);
    });

    it('sorts a long chain without recursion', async () => {
      const dag = new Dag(version('11'));
      node(dag, '$n0', []);
      for (let i = 1; i < 20000; i++) node(dag, `$n${i}`, [`$n${i - 1}`]);
      const graph = await graphOf(dag, '$n19999');
      const order = reverseTopologicalPowerOrder(new Set(dag.events.keys()), graph);
      assert.equal(order.length, 20000);
      assert.equal(order[0], '$n0');
      assert.equal(order[19999], '$n19999');
    });
  });

  describe('mainline ordering', () => {
    function mainlineRoom(): Dag {
      const dag = baseRoom('11');
      dag.powerLevels('$pl1', ALICE, { users: { [ALICE]: 100, [BOB]: 51 } });
      dag.topic('$on-pl1', BOB, 'based on pl1', { ts: 50 });
      dag.powerLevels('$pl2', ALICE, { users: { [ALICE]: 100, [BOB]: 52 } });
      dag.topic('$on-pl2', BOB, 'based on pl2', { ts: 10 });
      dag.powerLevels('$pl-side', ALICE, { users: { [ALICE]: 100, [BOB]: 49 } }, { prev: ['$charlie-join'] });
      dag.topic('$on-side', BOB, 'based on a side branch of pl0', { ts: 60 });
      dag.topic('$on-pl0', BOB, 'based on pl0', { prev: ['$charlie-join'], ts: 70 });
      dag.add({ id: '$no-pl', type: 'm.room.topic', sender: ALICE, stateKey: '', content: {}, auth: ['$create', '$alice-join'], ts: 80 });
      return dag;
    }

    it('positions an event by the first mainline event among its power-level ancestors, not itself', async () => {
      const dag = mainlineRoom();
      const graph = await graphOf(dag);
      const position = mainlinePositions('$pl2', graph);
      assert.equal(position('$on-pl2'), 0);
      assert.equal(position('$pl2'), 1);
      assert.equal(position('$on-pl1'), 1);
      assert.equal(position('$on-pl0'), 2);
      assert.equal(position('$on-side'), 2);
      assert.equal(position('$pl-side'), 2);
      assert.equal(position('$no-pl'), Infinity);
      assert.equal(position('$pl0'), Infinity);
    });

    it('orders from the greatest position down, then by origin_server_ts, then by event ID', async () => {
      const dag = mainlineRoom();
      const graph = await graphOf(dag);
      const ids = ['$on-pl2', '$on-pl1', '$on-pl0', '$on-side', '$no-pl'];
      assert.deepEqual(mainlineOrder(ids, '$pl2', graph), ['$no-pl', '$on-side', '$on-pl0', '$on-pl1', '$on-pl2']);
      assert.deepEqual(mainlineOrder(ids, undefined, graph), ['$on-pl2', '$on-pl1', '$on-side', '$on-pl0', '$no-pl']);
    });
  });

  describe('iterative auth checks', () => {
    const recording = (log: string[]): Authorize => (event, authState, v) => {
      log.push(`${event.id}:${[...authState.values()].map((e) => e.id).sort().join(',')}`);
      authorizeForTests(event, authState, v);
    };

    it('uses the state where it has the key and the auth events where it does not', async () => {
      const dag = baseRoom('11');
      dag.topic('$topic', BOB, 'hi');
      const graph = await graphOf(dag);
      const log: string[] = [];
      const state = iterativeAuthChecks(['$topic'], new Map([[PL, '$pl0']]), graph, recording(log), new Set());
      assert.deepEqual(log, ['$topic:$bob-join,$create,$pl0']);
      assert.equal(state.get(stateTuple('m.room.topic', '')), '$topic');
    });

    it('prefers the state over the auth events, and skips events the rules reject', async () => {
      const dag = baseRoom('11');
      dag.topic('$topic', BOB, 'hi');
      dag.member('$bob-left', BOB, 'leave', BOB, { prev: ['$topic'] });
      const graph = await graphOf(dag);
      const state = iterativeAuthChecks(['$topic'], new Map([[member(BOB), '$bob-left']]), graph, authorizeForTests, new Set());
      assert.equal(state.has(stateTuple('m.room.topic', '')), false);
    });

    it('does not fill a gap with a rejected auth event', async () => {
      const dag = baseRoom('11');
      dag.topic('$topic', BOB, 'hi');
      const graph = await graphOf(dag);
      const log: string[] = [];
      const state = iterativeAuthChecks(['$topic'], new Map(), graph, recording(log), new Set(['$bob-join']));
      assert.deepEqual(log, ['$topic:$create,$pl0']);
      assert.equal(state.size, 0);
    });

    it('v12: supplies the create event the room ID names', async () => {
      const dag = baseRoom('12');
      dag.topic('$topic', BOB, 'hi');
      assert.equal(dag.get('$topic').pdu.auth_events.includes('$create'), false);
      const graph = await graphOf(dag, '$topic');
      const log: string[] = [];
      iterativeAuthChecks(['$topic'], new Map(), graph, recording(log), new Set());
      assert.deepEqual(log, ['$topic:$bob-join,$create,$pl0']);
    });

    it('skips message events and unknown events, and lets faults other than AuthError through', async () => {
      const dag = baseRoom('11');
      dag.message('$msg', BOB);
      const graph = await graphOf(dag);
      let calls = 0;
      const counting: Authorize = () => {
        calls++;
      };
      assert.deepEqual(iterativeAuthChecks(['$msg', '$unknown'], new Map(), graph, counting, new Set()), new Map());
      assert.equal(calls, 0);
      const broken: Authorize = () => {
        throw new TypeError('bug');
      };
      assert.throws(() => iterativeAuthChecks(['$pl0'], new Map(), graph, broken, new Set()), TypeError);
      const refusing: Authorize = () => {
        throw new AuthError('no');
      };
      assert.deepEqual(iterativeAuthChecks(['$pl0'], new Map(), graph, refusing, new Set()), new Map());
    });
  });

  describe('power levels', () => {
    const pdu = (content: Record<string, unknown>, sender = ALICE): Pdu => ({
      type: 'm.room.power_levels',
      sender,
      state_key: '',
      content,
      origin_server_ts: 0,
      prev_events: [],
      auth_events: [],
      depth: 1,
      hashes: { sha256: '' },
      signatures: {},
    });

    it('reads users, then users_default, then 0', () => {
      const levels = pdu({ users: { [BOB]: 40 }, users_default: 5 });
      assert.equal(userPowerLevel(BOB, levels, undefined, version('11')), 40);
      assert.equal(userPowerLevel(CHARLIE, levels, undefined, version('11')), 5);
      assert.equal(userPowerLevel(CHARLIE, pdu({}), undefined, version('11')), 0);
    });

    it('without power levels, the creator has 100: content.creator before v11, the sender from v11', () => {
      const create = { ...pdu({ creator: BOB }), type: 'm.room.create' };
      assert.equal(userPowerLevel(BOB, undefined, create, version('10')), 100);
      assert.equal(userPowerLevel(ALICE, undefined, create, version('10')), 0);
      assert.equal(userPowerLevel(ALICE, undefined, create, version('11')), 100);
      assert.equal(userPowerLevel(BOB, undefined, create, version('11')), 0);
    });

    it('v12: creators, additional ones included, are infinitely powerful whatever power levels say', () => {
      const create = { ...pdu({ additional_creators: [BOB] }), type: 'm.room.create' };
      const levels = pdu({ users: { [BOB]: 1, [CHARLIE]: 100 } });
      assert.equal(userPowerLevel(ALICE, levels, create, version('12')), Infinity);
      assert.equal(userPowerLevel(BOB, levels, create, version('12')), Infinity);
      assert.equal(userPowerLevel(CHARLIE, levels, create, version('12')), 100);
      assert.equal(userPowerLevel(BOB, levels, create, version('11')), 1);
      assert.deepEqual([...roomCreators(create, version('11'))], [ALICE]);
    });

    it('accepts strings before v10 and floats before v6', () => {
      assert.equal(powerLevelValue(' +0050 ', version('9')), 50);
      assert.equal(powerLevelValue('-7', version('1')), -7);
      assert.equal(powerLevelValue('50', version('10')), undefined);
      assert.equal(powerLevelValue('5.5', version('1')), undefined);
      assert.equal(powerLevelValue(50.57, version('5')), 50);
      assert.equal(powerLevelValue(50.57, version('6')), undefined);
      assert.equal(powerLevelValue(Infinity, version('1')), undefined);
      assert.equal(powerLevelValue(true, version('1')), undefined);
      assert.equal(userPowerLevel(BOB, pdu({ users: { [BOB]: '75' } }), undefined, version('9')), 75);
      assert.equal(userPowerLevel(BOB, pdu({ users: { [BOB]: '75' }, users_default: 3 }), undefined, version('10')), 3);
    });
  });

  describe('auth events selection and power events', () => {
    const event = (type: string, sender: string, stateKey: string | undefined, content: Record<string, unknown>): Pdu => ({
      type,
      sender,
      ...(stateKey === undefined ? {} : { state_key: stateKey }),
      content,
      origin_server_ts: 0,
      prev_events: [],
      auth_events: [],
      depth: 1,
      hashes: { sha256: '' },
      signatures: {},
    });
    const CREATE = stateTuple('m.room.create', '');
    const JR = stateTuple('m.room.join_rules', '');

    it('selects create, power levels and the sender; for memberships the target and join rules as needed', () => {
      assert.deepEqual(authStateKeys(event('m.room.create', ALICE, '', {}), version('11')), []);
      assert.deepEqual(authStateKeys(event('m.room.topic', ALICE, '', {}), version('11')), [CREATE, PL, member(ALICE)]);
      assert.deepEqual(authStateKeys(event('m.room.member', ALICE, BOB, { membership: 'ban' }), version('11')), [
        CREATE,
        PL,
        member(ALICE),
        member(BOB),
      ]);
      assert.deepEqual(authStateKeys(event('m.room.member', BOB, BOB, { membership: 'join' }), version('11')), [
        CREATE,
        PL,
        member(BOB),
        JR,
      ]);
      const thirdParty = { membership: 'invite', third_party_invite: { signed: { token: 'tok' } } };
      assert.deepEqual(authStateKeys(event('m.room.member', ALICE, BOB, thirdParty), version('11')), [
        CREATE,
        PL,
        member(ALICE),
        member(BOB),
        JR,
        stateTuple('m.room.third_party_invite', 'tok'),
      ]);
      const restricted = { membership: 'join', join_authorised_via_users_server: CHARLIE };
      assert.deepEqual(authStateKeys(event('m.room.member', BOB, BOB, restricted), version('8')), [
        CREATE,
        PL,
        member(BOB),
        JR,
        member(CHARLIE),
      ]);
      assert.deepEqual(authStateKeys(event('m.room.member', BOB, BOB, restricted), version('7')), [CREATE, PL, member(BOB), JR]);
    });

    it('power events: power levels, join rules, and leaves or bans of someone else', () => {
      assert.equal(isPowerEvent(event('m.room.power_levels', ALICE, '', {})), true);
      assert.equal(isPowerEvent(event('m.room.join_rules', ALICE, '', {})), true);
      assert.equal(isPowerEvent(event('m.room.member', ALICE, BOB, { membership: 'leave' })), true);
      assert.equal(isPowerEvent(event('m.room.member', ALICE, BOB, { membership: 'ban' })), true);
      assert.equal(isPowerEvent(event('m.room.member', BOB, BOB, { membership: 'leave' })), false);
      assert.equal(isPowerEvent(event('m.room.member', ALICE, BOB, { membership: 'invite' })), false);
      assert.equal(isPowerEvent(event('m.room.topic', ALICE, '', {})), false);
      assert.equal(isPowerEvent(event('m.room.power_levels', ALICE, undefined, {})), false);
    });
  });

  describe('the event graph', () => {
    it('fetches each event once, one batch per step down the auth chains', async () => {
      const dag = baseRoom('11');
      dag.topic('$topic', BOB, 'hi');
      const source = dag.source();
      const graph = new EventGraph(source, dag.version);
      await graph.loadAuthClosure(['$topic', '$charlie-join', '$missing']);
      await graph.loadAuthClosure(['$bob-join', '$topic']);
      await graph.load(['$pl0', '$missing']);
      const fetched = source.calls.flat();
      assert.equal(new Set(fetched).size, fetched.length, 'no event fetched twice');
      assert.deepEqual(source.calls[0], ['$topic', '$charlie-join', '$missing']);
      assert.ok(source.calls.length <= 4, `${source.calls.length} batches`);
      assert.deepEqual(graph.authChain(['$topic']), new Set(['$create', '$alice-join', '$pl0', '$jr0', '$bob-join']));
      assert.equal(graph.event('$missing'), undefined);
    });

    it('v1 and v2 rooms reference events as [id, hashes] pairs', async () => {
      const dag = baseRoom('2');
      assert.ok(Array.isArray(dag.get('$pl0').pdu.auth_events[0]));
      const graph = await graphOf(dag);
      assert.deepEqual(graph.authChain(['$pl0']), new Set(['$create', '$alice-join']));
    });
  });

  describe('orderings', () => {
    it('compares event IDs by code point', () => {
      assert.ok(compareCodePoints('$a', '$b') < 0);
      assert.ok(compareCodePoints('$a', '$ab') < 0);
      assert.ok(compareCodePoints('$\u{1F600}', '$\uFFFD') > 0, 'an astral character sorts after U+FFFD');
      assert.equal(compareCodePoints('$x', '$x'), 0);
    });

    it('hashes event IDs with sha1 for room version 1', () => {
      assert.equal(sha1Hex('abc'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    });

    it('the heap pops in order', () => {
      const heap = new MinHeap<number>((a, b) => a < b);
      const values = [5, 3, 9, 1, 7, 3, 0, 8];
      for (const value of values) heap.push(value);
      const out: number[] = [];
      for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
      assert.deepEqual(out, [...values].sort((a, b) => a - b));
    });
  });
});

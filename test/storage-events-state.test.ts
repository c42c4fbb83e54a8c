/**
 * State groups against a naive model: the state before and after every event of
 * a random DAG (forks, merges, removals, every event status) must equal a
 * replay, every read must stay within its bounds, and storage must grow with
 * state changes, not with events or with the size of the state.
 */
import assert from 'node:assert/strict';
import { stateTuple, type RoomEvent, type StateMap } from '../spec/pdu';
import type { EventStatus } from '../storage/events';
import { RoomStateStore } from '../storage/room-state';
import { MAX_HEIGHT, StateGroupStore } from '../storage/state-groups';
import { pdu, roomId, statePdu } from './helpers/pdus';
import { openStores, type TestStores } from './helpers/stores';

/** mulberry32: a small seeded generator, so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Node {
  event: RoomEvent;
  after: StateMap;
  group: number;
}

describe('room state storage', () => {
  let s: TestStores;
  beforeEach(async () => {
    s = await openStores();
  });
  afterEach(async () => {
    await s.close();
  });

  async function newRoom(): Promise<{ room: string; root: Node }> {
    const room = roomId();
    const create = statePdu(room, 'm.room.create', '');
    const group = await s.rooms.withLock(room, async (trx) => {
      await s.rooms.create(room, '10', trx);
      return (await s.events.persist(trx, { event: create, roomId: room, status: 'accepted', stateGroupBefore: null })).stateGroupAfter!;
    });
    return { room, root: { event: create, after: new Map([[stateTuple('m.room.create', ''), create.id]]), group } };
  }

  /** Persists a state event (or a message, when `key` is undefined) on `prev`, accepted. */
  async function append(room: string, prev: Node, key?: [string, string]): Promise<Node> {
    const event = key ? statePdu(room, key[0], key[1], { prev: [prev.event] }) : pdu(room, { prev: [prev.event] });
    const { stateGroupAfter } = await s.rooms.withLock(room, (trx) => s.events.persist(trx, { event, roomId: room, status: 'accepted', stateGroupBefore: prev.group }));
    const after = new Map(prev.after);
    if (key) after.set(stateTuple(...key), event.id);
    return { event, after, group: stateGroupAfter! };
  }

  /** Entries stored across all state groups. */
  async function storedEntries(): Promise<number> {
    const rows = await s.db('state_groups').select('entries', 'removed');
    return rows.reduce((n, r) => n + JSON.parse(r.entries).length + (r.removed ? JSON.parse(r.removed).length : 0), 0);
  }

  it('answers the state before and after every event as a naive replay does, over random changes, forks, merges and removals', async () => {
    const rand = random(20240611);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const { room, root } = await newRoom();
    const keys: [string, string][] = [
      ['m.room.name', ''],
      ['m.room.topic', ''],
      ['m.room.power_levels', ''],
      ...Array.from({ length: 40 }, (_, i): [string, string] => ['m.room.member', `@user${i}:test`]),
    ];
    const nodes: Node[] = [root];
    const expected = new Map<string, { before?: StateMap; after?: StateMap }>([[root.event.id, { before: new Map(), after: root.after }]]);

    for (let step = 0; step < 400; step++) {
      const recent = nodes.slice(-15);
      const roll = rand();
      const prevs = roll < 0.15 && recent.length > 2 ? [...new Set([pick(recent), pick(recent), pick(recent)])] : [roll < 0.35 ? pick(recent) : nodes[nodes.length - 1]];
      if (rand() < 0.05) keys.push(['m.room.member', `@new${step}:test`]);
      const key = rand() < 0.6 ? pick(keys) : undefined;
      const event = key ? statePdu(room, key[0], key[1], { prev: prevs.map((p) => p.event) }) : pdu(room, { prev: prevs.map((p) => p.event) });
      const statusRoll = rand();
      const status: EventStatus = statusRoll < 0.06 ? 'rejected' : statusRoll < 0.12 ? 'soft_failed' : statusRoll < 0.16 ? 'outlier' : 'accepted';

      // A stand-in for state resolution: later prevs win, and sometimes an entry is dropped.
      const before = new Map<string, string>();
      for (const prev of prevs) for (const [k, v] of prev.after) before.set(k, v);
      if (prevs.length > 1 && rand() < 0.3) {
        const droppable = [...before.keys()].filter((k) => k !== stateTuple('m.room.create', ''));
        if (droppable.length > 0) before.delete(pick(droppable));
      }

      const persisted = await s.rooms.withLock(room, async (trx) => {
        const group = prevs.length === 1 ? prevs[0].group : await s.stateGroups.createFromState(trx, room, before, prevs.map((p) => p.group));
        return s.events.persist(trx, { event, roomId: room, status, stateGroupBefore: group });
      });
      if (status === 'outlier') {
        expected.set(event.id, {});
        continue;
      }
      const after = new Map(before);
      if (key && (status === 'accepted' || status === 'soft_failed')) after.set(stateTuple(...key), event.id);
      expected.set(event.id, { before, after });
      if (status !== 'rejected') nodes.push({ event, after, group: persisted.stateGroupAfter! });
    }

    // Through the stores' cache, and through a store that has to decode every row.
    const uncached = new RoomStateStore(s.db, s.rooms, new StateGroupStore(s.db, s.rooms, { cacheEntries: 0 }));
    for (const reader of [s.roomState, uncached]) {
      for (const [eventId, { before, after }] of expected) {
        assert.deepEqual(await reader.stateBefore(eventId), before, `state before ${eventId}`);
        assert.deepEqual(await reader.stateAfter(eventId), after, `state after ${eventId}`);
      }
    }

    // Bounded reads: at most 1 + log2(MAX_HEIGHT) rows, and deltas never larger than the state.
    const groups = (await s.db('state_groups').select('id')).map((r) => Number(r.id));
    let deepest = 0;
    for (const group of groups) {
      const cost = await s.stateGroups.readCost(group);
      assert.ok(cost.rows <= 1 + Math.log2(MAX_HEIGHT), `group ${group} reads ${cost.rows} rows`);
      assert.ok(cost.deltaEntries <= cost.size, `group ${group} reads ${cost.deltaEntries} delta entries for a state of ${cost.size}`);
      deepest = Math.max(deepest, cost.rows);
    }
    assert.ok(deepest >= 3, 'the run exercised chains of deltas');
    assert.ok((await s.db('state_groups').whereNotNull('removed').count({ n: '*' }).first())!.n !== 0, 'the run exercised removals');
  });

  it('adds no state rows for non-state events and grows with state changes, not with the size of the state', async () => {
    /** Entries stored per state change when `changes` random members change in a room of `members`. */
    async function churn(members: number, changes: number): Promise<number> {
      const { room, root } = await newRoom();
      let tip = root;
      for (let i = 0; i < members; i++) tip = await append(room, tip, ['m.room.member', `@user${i}:test`]);
      const groupsBefore = Number((await s.db('state_groups').count({ n: '*' }).first())!.n);
      for (let i = 0; i < 50; i++) tip = await append(room, tip);
      assert.equal(Number((await s.db('state_groups').count({ n: '*' }).first())!.n), groupsBefore, 'messages add no state groups');

      const rand = random(members);
      const entriesBefore = await storedEntries();
      for (let i = 0; i < changes; i++) tip = await append(room, tip, ['m.room.member', `@user${Math.floor(rand() * members)}:test`]);
      assert.deepEqual(await s.roomState.stateAfter(tip.event.id), tip.after);
      return (await storedEntries() - entriesBefore) / changes;
    }
    const small = await churn(50, 200);
    const large = await churn(400, 200);
    // Whole snapshots per change would cost ~50 and ~400 entries; snapshots every
    // 100 changes 8x more in the large room. Here: a few, growing with log(state).
    assert.ok(small < 8, `${small} entries per change in a room of 50`);
    assert.ok(large < 10, `${large} entries per change in a room of 400`);
    assert.ok(large < small * 2, `${large} entries per change at 400 members vs ${small} at 50`);
  });

  it('keeps chains within 1 + popcount(height) rows, and within the height limit', async () => {
    const limited = new StateGroupStore(s.db, s.rooms, { maxHeight: 16 });
    const { room, root } = await newRoom();
    let tip = root;
    for (let i = 0; i < 60; i++) tip = await append(room, tip, ['m.room.member', `@user${i}:test`]);
    // Many changes to one entry: deltas stay tiny, so only the height limits the chain.
    let group = tip.group;
    let limitedGroup = tip.group;
    let maxHeight = 0;
    const popcount = (n: number) => n.toString(2).replace(/0/g, '').length;
    const topics: RoomEvent[] = [];
    await s.rooms.withLock(room, async (trx) => {
      for (let i = 0; i < 300; i++) {
        const topic = statePdu(room, 'm.room.topic', '', { prev: [tip.event], content: { topic: `${i}` } });
        await s.events.persist(trx, { event: topic, roomId: room, status: 'outlier' });
        topics.push(topic);
        const delta = new Map([[stateTuple('m.room.topic', ''), topic.id]]);
        group = await s.stateGroups.create(trx, room, group, delta);
        limitedGroup = await limited.create(trx, room, limitedGroup, delta);
        const cost = await s.stateGroups.readCost(group, trx);
        assert.equal(cost.rows, 1 + popcount(cost.height), `rows at height ${cost.height}`);
        maxHeight = Math.max(maxHeight, cost.height);
        const limitedCost = await limited.readCost(limitedGroup, trx);
        assert.ok(limitedCost.height < 16 && limitedCost.rows <= 1 + Math.log2(16), `${limitedCost.rows} rows at height ${limitedCost.height}`);
      }
    });
    assert.ok(maxHeight >= 250, `chains grew as changes accumulated (height ${maxHeight})`);
    const expected = new Map(tip.after).set(stateTuple('m.room.topic', ''), topics[topics.length - 1].id);
    assert.deepEqual(await s.stateGroups.read(group), expected);
    assert.deepEqual(await limited.read(limitedGroup), expected);
  });
});

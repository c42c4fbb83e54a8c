/**
 * The event store: persisting events with their edges and statuses, forward
 * extremities, stream and topological order, current state, redactions and the
 * per-room write lock, on SQLite and PostgreSQL alike.
 */
import assert from 'node:assert/strict';
import { stateTuple, type RoomEvent, type StateMap } from '../spec/pdu';
import type { Db } from '../storage/db';
import type { EventStatus, Persisted } from '../storage/events';
import { createStores } from '../storage';
import { isPostgresDb } from '../storage/transactions';
import { pdu, roomId, statePdu } from './helpers/pdus';
import { openStores, type TestStores } from './helpers/stores';

describe('event store', () => {
  let s: TestStores;
  beforeEach(async () => {
    s = await openStores();
  });
  afterEach(async () => {
    await s.close();
  });

  const persist = (room: string, event: RoomEvent, status: EventStatus = 'accepted', stateGroupBefore?: number | null): Promise<Persisted> =>
    s.rooms.withLock(room, (trx) => s.events.persist(trx, { event, roomId: room, status, stateGroupBefore, ...(status === 'rejected' ? { rejectionReason: 'auth' } : {}) }));

  /** A room with its create event persisted; returns the create event and the state after it. */
  async function newRoom(): Promise<{ room: string; create: RoomEvent; group: number }> {
    const room = roomId();
    await s.rooms.withLock(room, (trx) => s.rooms.create(room, '10', trx));
    const create = statePdu(room, 'm.room.create', '');
    const { stateGroupAfter } = await persist(room, create, 'accepted', null);
    return { room, create, group: stateGroupAfter! };
  }

  const extremities = async (room: string) => (await s.events.forwardExtremities(room)).map((e) => e.eventId).sort();
  const ids = (...events: RoomEvent[]) => events.map((e) => e.id).sort();

  it('creates rooms and reads them back', async () => {
    const room = roomId();
    assert.equal(await s.rooms.get(room), undefined);
    await s.rooms.withLock(room, (trx) => s.rooms.create(room, '12', trx));
    assert.deepEqual(await s.rooms.get(room), { roomId: room, version: '12' });
    await assert.rejects(s.rooms.withLock(room, (trx) => s.rooms.create(room, '11', trx)));
    assert.deepEqual(await s.rooms.get(room), { roomId: room, version: '12' });
  });

  it('keeps forward extremities along a chain and across a fork and its merge', async () => {
    const { room, create, group } = await newRoom();
    assert.deepEqual(await extremities(room), ids(create));
    const a = pdu(room, { prev: [create] });
    await persist(room, a, 'accepted', group);
    assert.deepEqual(await extremities(room), ids(a));
    const b = pdu(room, { prev: [a] });
    await persist(room, b, 'accepted', group);
    assert.deepEqual(await extremities(room), ids(b));
    const c = pdu(room, { prev: [a] });
    await persist(room, c, 'accepted', group);
    assert.deepEqual(await extremities(room), ids(b, c));
    const d = pdu(room, { prev: [b, c] });
    await persist(room, d, 'accepted', group);
    assert.deepEqual(await s.events.forwardExtremities(room), [{ eventId: d.id, depth: 4, stateGroupAfter: group }]);
  });

  it('stores edges once and treats a second persist as a no-op', async () => {
    const { room, create, group } = await newRoom();
    const a = pdu(room, { prev: [create], auth: [create] });
    const first = await persist(room, a, 'accepted', group);
    const again = await persist(room, a, 'accepted', group);
    assert.equal(again.alreadyStored, true);
    assert.equal(again.streamOrdering, first.streamOrdering);
    assert.equal(Number((await s.db('event_prev_edges').count({ n: '*' }).first())!.n), 1);
    assert.deepEqual(await s.db('event_auth_edges').select('auth_event_id'), [{ auth_event_id: create.id }]);
    assert.deepEqual(await extremities(room), ids(a));
  });

  it('represents outliers, rejected and soft-failed events, none of them extremities, in the timeline or in the current state', async () => {
    const { room, create, group } = await newRoom();
    const topic = statePdu(room, 'm.room.topic', '', { prev: [create], content: { topic: 'one' } });
    const afterTopic = (await persist(room, topic, 'accepted', group)).stateGroupAfter!;
    await s.rooms.withLock(room, (trx) => s.roomState.setCurrentState(trx, room, afterTopic));

    const outlier = statePdu(room, 'm.room.member', '@bob:test', { prev: [topic] });
    const rejected = statePdu(room, 'm.room.topic', '', { prev: [topic], content: { topic: 'rejected' } });
    const softFailed = statePdu(room, 'm.room.topic', '', { prev: [topic], content: { topic: 'soft' } });
    const o = await persist(room, outlier, 'outlier');
    const r = await persist(room, rejected, 'rejected', afterTopic);
    const sf = await persist(room, softFailed, 'soft_failed', afterTopic);

    assert.deepEqual(await extremities(room), ids(topic));
    for (const p of [o, r, sf]) assert.equal(p.streamOrdering, null);
    assert.deepEqual(await s.events.byStream(room, { order: 'asc', limit: 10 }).then((es) => es.map((e) => e.event.id)), [create.id, topic.id]);

    const stored = await s.events.get([outlier.id, rejected.id, softFailed.id]);
    assert.equal(stored.get(outlier.id)!.status, 'outlier');
    assert.equal(stored.get(rejected.id)!.status, 'rejected');
    assert.equal(stored.get(rejected.id)!.rejectionReason, 'auth');
    assert.equal(stored.get(softFailed.id)!.status, 'soft_failed');

    // No state is known around an outlier; a rejected event changes no state; a soft-failed one does.
    assert.equal(await s.roomState.stateBefore(outlier.id), undefined);
    assert.equal(await s.roomState.stateAfter(outlier.id), undefined);
    const topicTuple = stateTuple('m.room.topic', '');
    assert.equal((await s.roomState.stateAfter(rejected.id))!.get(topicTuple), topic.id);
    assert.equal(r.stateGroupAfter, afterTopic);
    assert.equal((await s.roomState.stateAfter(softFailed.id))!.get(topicTuple), softFailed.id);

    const current = await s.roomState.currentState(room);
    assert.equal(current.get(topicTuple), topic.id);
    assert.equal(current.has(stateTuple('m.room.member', '@bob:test')), false);
  });

  it('moves an outlier into the DAG when it is persisted again with state', async () => {
    const { room, create, group } = await newRoom();
    const a = pdu(room, { prev: [create] });
    await persist(room, a, 'accepted', group);
    const member = statePdu(room, 'm.room.member', '@bob:test', { prev: [a], content: { membership: 'join' } });
    const asOutlier = await persist(room, member, 'outlier');
    assert.equal(asOutlier.streamOrdering, null);
    const latest = await s.events.latestStreamOrdering();

    const accepted = await persist(room, member, 'accepted', group);
    assert.equal(accepted.alreadyStored, false);
    assert.ok(accepted.streamOrdering! > latest);
    assert.deepEqual(await extremities(room), ids(member));
    assert.equal((await s.roomState.stateAfter(member.id))!.get(stateTuple('m.room.member', '@bob:test')), member.id);
    assert.equal(Number((await s.db('event_prev_edges').where({ prev_event_id: a.id }).count({ n: '*' }).first())!.n), 1);
    assert.equal((await persist(room, member, 'outlier')).alreadyStored, true);
  });

  it('does not make an event that arrives after its child an extremity', async () => {
    const { room, create, group } = await newRoom();
    const late = pdu(room, { prev: [create] });
    const child = pdu(room, { prev: [late] });
    await persist(room, child, 'accepted', group);
    // The child's prev was missing: the create event is still an extremity alongside the child.
    assert.deepEqual(await extremities(room), ids(create, child));
    await persist(room, late, 'accepted', group);
    assert.deepEqual(await extremities(room), ids(child));
  });

  it('gives accepted events strictly increasing stream positions across rooms', async () => {
    const one = await newRoom();
    const two = await newRoom();
    let previous = await s.events.latestStreamOrdering();
    let last: Record<string, RoomEvent> = { [one.room]: one.create, [two.room]: two.create };
    for (let i = 0; i < 20; i++) {
      const { room, group } = i % 2 ? one : two;
      const event = pdu(room, { prev: [last[room]] });
      last = { ...last, [room]: event };
      const { streamOrdering } = await persist(room, event, 'accepted', group);
      assert.ok(streamOrdering! > previous, `${streamOrdering} > ${previous}`);
      assert.equal(await s.events.latestStreamOrdering(), streamOrdering);
      previous = streamOrdering!;
    }
  });

  it('does not let readers past a position whose transaction is still open, and forgets rolled-back ones', async () => {
    const { room, create, group } = await newRoom();
    const before = await s.events.latestStreamOrdering();
    const event = pdu(room, { prev: [create] });
    await assert.rejects(
      s.rooms.withLock(room, async (trx) => {
        const { streamOrdering } = await s.events.persist(trx, { event, roomId: room, status: 'accepted', stateGroupBefore: group });
        assert.ok(streamOrdering! > before);
        // Inside the transaction on SQLite only this handle may read; on PostgreSQL the root handle works too.
        assert.equal(await s.events.latestStreamOrdering(trx), before);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await s.events.latestStreamOrdering(), before);
    assert.equal((await s.events.get([event.id])).size, 0);
    const again = await persist(room, event, 'accepted', group);
    assert.equal(await s.events.latestStreamOrdering(), again.streamOrdering);
  });

  it('reads events back with their room, status, positions and state groups; the event source skips missing IDs', async () => {
    const { room, create, group } = await newRoom();
    const a = pdu(room, { prev: [create], content: { body: 'hello' } });
    const { streamOrdering } = await persist(room, a, 'accepted', group);
    const got = await s.events.get([a.id, '$missing:test']);
    assert.equal(got.size, 1);
    assert.deepEqual(got.get(a.id), {
      event: a,
      roomId: room,
      status: 'accepted',
      streamOrdering,
      depth: 2,
      stateGroupBefore: group,
      stateGroupAfter: group,
      roomStateAfter: group,
    });
    const loaded = await s.events.source().get([a.id, create.id, '$missing:test']);
    assert.deepEqual([...loaded.keys()].sort(), ids(a, create));
    assert.deepEqual(loaded.get(create.id), create);
  });

  it('records redactions, including ones that arrive before their target', async () => {
    const { room, create, group } = await newRoom();
    const target = pdu(room, { prev: [create] });
    const redaction = pdu(room, { type: 'm.room.redaction', prev: [create], pdu: { redacts: target.id } });
    await persist(room, redaction, 'accepted', group);
    assert.deepEqual(await s.events.redactionsOf(target.id), [redaction.id]);
    await persist(room, target, 'accepted', group);
    await s.rooms.withLock(room, (trx) => s.events.setRedactedBy(trx, target.id, redaction.id));
    assert.equal((await s.events.get([target.id])).get(target.id)!.redactedBy, redaction.id);
    assert.equal((await s.events.get([redaction.id])).get(redaction.id)!.redactedBy, undefined);
    // The room is version 10: the target is read at the top level only (in `content` from version 11).
    const misplaced = pdu(room, { type: 'm.room.redaction', prev: [create], content: { redacts: create.id } });
    await persist(room, misplaced, 'accepted', group);
    assert.deepEqual(await s.events.redactionsOf(create.id), []);
  });

  describe('current state', () => {
    it('materialises a state group and follows it forward, back and through removals', async () => {
      const { room, create, group } = await newRoom();
      const member = statePdu(room, 'm.room.member', '@alice:test', { prev: [create], content: { membership: 'join' } });
      const g1 = (await persist(room, member, 'accepted', group)).stateGroupAfter!;
      const topic1 = statePdu(room, 'm.room.topic', '', { prev: [member], content: { topic: 'one' } });
      const g2 = (await persist(room, topic1, 'accepted', g1)).stateGroupAfter!;
      const topic2 = statePdu(room, 'm.room.topic', '', { prev: [topic1], content: { topic: 'two' } });
      const g3 = (await persist(room, topic2, 'accepted', g2)).stateGroupAfter!;

      const expect = async (state: StateMap) => {
        assert.deepEqual(await s.roomState.currentState(room), state);
        assert.deepEqual(await s.roomState.currentState(room), await s.stateGroups.read((await s.roomState.currentStateGroup(room))!));
      };
      assert.equal(await s.roomState.currentStateGroup(room), null);
      await s.rooms.withLock(room, (trx) => s.roomState.setCurrentState(trx, room, g3));
      await expect((await s.roomState.stateAfter(topic2.id))!);
      assert.deepEqual(await s.roomState.currentStateEvent(room, 'm.room.topic', ''), topic2);
      assert.equal(await s.roomState.currentStateEvent(room, 'm.room.topic', 'other'), undefined);
      const some = [stateTuple('m.room.topic', ''), stateTuple('m.room.create', ''), stateTuple('m.room.member', '@nobody:test')];
      assert.deepEqual(
        await s.roomState.currentStateEvents(room, some),
        new Map([
          [some[0], topic2],
          [some[1], create],
        ]),
      );

      await s.rooms.withLock(room, (trx) => s.roomState.setCurrentState(trx, room, g1));
      await expect(new Map([[stateTuple('m.room.create', ''), create.id], [stateTuple('m.room.member', '@alice:test'), member.id]]));
      assert.equal(await s.roomState.currentStateEvent(room, 'm.room.topic', ''), undefined);

      // A resolved state that drops the topic and keeps the rest.
      const resolved = new Map(await s.stateGroups.read(g3));
      resolved.delete(stateTuple('m.room.topic', ''));
      const g4 = await s.rooms.withLock(room, (trx) => s.stateGroups.createFromState(trx, room, resolved, [g2, g3]));
      assert.deepEqual(await s.stateGroups.read(g4), resolved);
      await s.rooms.withLock(room, (trx) => s.roomState.setCurrentState(trx, room, g3));
      await s.rooms.withLock(room, (trx) => s.roomState.setCurrentState(trx, room, g4));
      await expect(resolved);
    });

    it('reuses a group when a delta changes nothing, and refuses entries that are not the named state events', async () => {
      const { room, create, group } = await newRoom();
      const same = await s.rooms.withLock(room, (trx) => s.stateGroups.create(trx, room, group, new Map([[stateTuple('m.room.create', ''), create.id]])));
      assert.equal(same, group);
      const fromState = await s.rooms.withLock(room, async (trx) => s.stateGroups.createFromState(trx, room, await s.stateGroups.read(group, trx), [group]));
      assert.equal(fromState, group);
      const message = pdu(room, { prev: [create] });
      await persist(room, message, 'accepted', group);
      await assert.rejects(s.rooms.withLock(room, (trx) => s.stateGroups.create(trx, room, group, new Map([[stateTuple('m.room.message', ''), message.id]]))), /not a stored state event/);
      await assert.rejects(s.rooms.withLock(room, (trx) => s.stateGroups.create(trx, room, group, new Map([[stateTuple('m.room.topic', ''), create.id]]))), /not a stored state event/);
    });
  });

  describe('timeline', () => {
    it('pages by stream position and by topological order, skipping events outside the timeline', async () => {
      const { room, create, group } = await newRoom();
      const timeline: RoomEvent[] = [create];
      let last = create;
      for (let i = 0; i < 30; i++) {
        const event = pdu(room, { prev: [last] });
        await persist(room, event, 'accepted', group);
        timeline.push(event);
        last = event;
        if (i % 5 === 0) await persist(room, pdu(room, { prev: [last] }), i % 10 === 0 ? 'rejected' : 'outlier', group);
      }
      // A fork at depth 10, persisted last: later in the stream, earlier in topological order than the tip.
      const forked = pdu(room, { prev: [timeline[8]] });
      await persist(room, forked, 'accepted', group);
      timeline.push(forked);

      const page = async <P>(read: (from: P | undefined) => Promise<{ id: string; position: P }[]>) => {
        const seen: string[] = [];
        let from: P | undefined;
        for (;;) {
          const events = await read(from);
          if (events.length === 0) return seen;
          assert.ok(events.length <= 7);
          seen.push(...events.map((e) => e.id));
          from = events[events.length - 1].position;
        }
      };
      const byStream = (order: 'asc' | 'desc') =>
        page<number>(async (from) =>
          (await s.events.byStream(room, { order, limit: 7, ...(from === undefined ? {} : order === 'asc' ? { after: from } : { before: from }) })).map((e) => ({
            id: e.event.id,
            position: e.streamOrdering!,
          })),
        );
      const streamOrder = timeline.map((e) => e.id);
      assert.deepEqual(await byStream('asc'), streamOrder);
      assert.deepEqual(await byStream('desc'), [...streamOrder].reverse());

      const byTopology = (order: 'asc' | 'desc') =>
        page<{ depth: number; streamOrdering: number }>(async (from) =>
          (await s.events.byTopology(room, { order, limit: 7, ...(from === undefined ? {} : order === 'asc' ? { after: from } : { before: from }) })).map((e) => ({
            id: e.event.id,
            position: { depth: e.depth, streamOrdering: e.streamOrdering! },
          })),
        );
      const topological = [...timeline.slice(0, 10), forked, ...timeline.slice(10, 31)].map((e) => e.id);
      assert.deepEqual(await byTopology('asc'), topological);
      assert.deepEqual(await byTopology('desc'), [...topological].reverse());

      // A /sync-style window: the newest 3 after a position.
      const since = (await s.events.get([timeline[25].id])).get(timeline[25].id)!.streamOrdering!;
      const window = await s.events.byStream(room, { after: since, before: (await s.events.latestStreamOrdering()) + 1, order: 'desc', limit: 3 });
      assert.deepEqual(
        window.map((e) => e.event.id),
        [forked, timeline[30], timeline[29]].map((e) => e.id),
      );
    });

    it('reads the timeline through indexes (SQLite query plans)', async function () {
      if (isPostgresDb(s.db)) this.skip();
      const { room } = await newRoom();
      const queries: { sql: string; bindings: unknown[] }[] = [];
      const record = (q: { sql: string; bindings: unknown[] }) => queries.push(q);
      s.db.on('query', record);
      await s.events.byStream(room, { after: 1, before: 100, order: 'desc', limit: 5 });
      await s.events.byTopology(room, { after: { depth: 1, streamOrdering: 1 }, order: 'asc', limit: 5 });
      s.db.removeListener('query', record);
      const timelineQueries = queries.filter((q) => /order by/i.test(q.sql));
      assert.equal(timelineQueries.length, 2);
      for (const q of timelineQueries) {
        const plan: { detail: string }[] = await s.db.raw(`explain query plan ${q.sql}`, q.bindings as never);
        const details = plan.map((p) => p.detail).join('\n');
        assert.match(details, /events_room_(stream|topological)/, details);
        assert.doesNotMatch(details, /SCAN e\b(?! USING)/, details);
        assert.doesNotMatch(details, /TEMP B-TREE/, details);
      }
    });
  });

  describe('room write lock', () => {
    it('serialises writers to one room', async () => {
      const { room } = await newRoom();
      const order: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const first = s.rooms.withLock(room, async () => {
        order.push('first start');
        await gate;
        order.push('first end');
      });
      const second = s.rooms.withLock(room, async () => {
        order.push('second');
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(order, ['first start']);
      release();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['first start', 'first end', 'second']);
    });

    it('lets writers to different rooms proceed together (PostgreSQL) or in turn (SQLite)', async () => {
      const one = await newRoom();
      const two = await newRoom();
      const a = pdu(one.room, { prev: [one.create] });
      const b = pdu(two.room, { prev: [two.create] });
      if (!isPostgresDb(s.db)) {
        await Promise.all([persist(one.room, a, 'accepted', one.group), persist(two.room, b, 'accepted', two.group)]);
      } else {
        // Room one's transaction stays open until room two's write has committed.
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let persisted!: () => void;
        const persistedA = new Promise<void>((resolve) => (persisted = resolve));
        let positionA = 0;
        const first = s.rooms.withLock(one.room, async (trx) => {
          positionA = (await s.events.persist(trx, { event: a, roomId: one.room, status: 'accepted', stateGroupBefore: one.group })).streamOrdering!;
          persisted();
          await gate;
        });
        await persistedA;
        const positionB = (await persist(two.room, b, 'accepted', two.group)).streamOrdering!;
        assert.ok(positionB > positionA);
        // B is committed but A, below it, is not: readers must not move past A yet.
        assert.equal(await s.events.latestStreamOrdering(), positionA - 1);
        assert.equal((await s.events.byStream(two.room, { order: 'asc', limit: 5 })).length, 2);
        release();
        await first;
        assert.equal(await s.events.latestStreamOrdering(), positionB);
      }
      assert.deepEqual(await extremities(one.room), ids(a));
      assert.deepEqual(await extremities(two.room), ids(b));
    });

    it('serialises writers to one room across processes (PostgreSQL advisory lock)', async function () {
      if (!isPostgresDb(s.db)) this.skip();
      const { room } = await newRoom();
      const other = createStores(await secondHandle(s.db));
      try {
        const order: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const first = s.rooms.withLock(room, async () => {
          order.push('first start');
          await gate;
          order.push('first end');
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        const second = other.rooms.withLock(room, async () => {
          order.push('second');
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(order, ['first start']);
        release();
        await Promise.all([first, second]);
        assert.deepEqual(order, ['first start', 'first end', 'second']);
      } finally {
        await other.db.destroy();
      }
    });
  });
});

/** Another connection pool on the same database and schema, as a second process would have. */
async function secondHandle(db: Db): Promise<Db> {
  const knex = (await import('knex')).default;
  return knex({ client: 'pg', connection: db.client.config.connection, searchPath: db.client.config.searchPath, pool: { min: 0, max: 2 } });
}

/**
 * Event relationships: one `relations` row per event whose content declares one
 * (spec/relations.ts), written where every event is persisted, and the thread
 * list (`threads`: each root with the position of its latest thread event).
 *
 * A child counts only while it is accepted and unredacted (redacting a child
 * breaks its relationship); both are read from its `events` row, so an outlier
 * that later joins the timeline needs no second write here, and a redaction none.
 */
import type { RoomEvent } from '../spec/pdu';
import { relationOf } from '../spec/relations';
import type { Db } from './db';
import type { EventStatus } from './events';
import type { RoomStore } from './rooms';
import { listOf } from './transactions';

export interface RelationRecord {
  nid: number;
  roomNid: number;
  event: RoomEvent;
  status: EventStatus;
  streamOrdering: number | null;
}

/** Records the event's relation, if it declares one; call in the transaction that persists it. */
export async function recordRelation(trx: Db, record: RelationRecord): Promise<void> {
  const { pdu } = record.event;
  const relation = relationOf(pdu.content);
  if (!relation) return;
  await trx('relations')
    .insert({
      event_nid: record.nid,
      event_id: record.event.id,
      room_nid: record.roomNid,
      relates_to_id: relation.eventId,
      rel_type: relation.relType,
      type: pdu.type,
      sender: pdu.sender,
      aggregation_key: relation.key ?? null,
    })
    .onConflict('event_nid')
    .ignore();
  if (relation.relType !== 'm.thread' || record.status !== 'accepted' || record.streamOrdering === null) return;
  await trx.raw(
    `insert into threads (room_nid, root_id, latest_depth, latest_stream) values (?, ?, ?, ?)
     on conflict (room_nid, root_id) do update
       set latest_depth = excluded.latest_depth, latest_stream = excluded.latest_stream
       where (threads.latest_depth, threads.latest_stream) < (excluded.latest_depth, excluded.latest_stream)`,
    [record.roomNid, relation.eventId, pdu.depth, record.streamOrdering],
  );
}

export interface Child {
  eventId: string;
  parentId: string;
  relType: string;
  sender: string;
}

export interface ThreadSummary {
  /** Thread events not sent by an ignored user. */
  count: number;
  /** Whether `userId` sent one of them. */
  participated: boolean;
  /** The latest few of them, latest first (topologically). */
  latest: string[];
}

/** A position in a room's topological order: (depth, stream ordering). */
export interface Position {
  depth: number;
  stream: number;
}

export interface RelatedQuery {
  relType?: string;
  eventType?: string;
  /** 1: direct children only; n: also children of children, n levels deep. */
  levels: number;
  /** Leave out the events of these senders (they still link deeper levels). */
  excludeSenders?: readonly string[];
  /** Exclusive bounds on the child's position. */
  after?: Position;
  before?: Position;
  order: 'asc' | 'desc';
  limit: number;
}

export class RelationStore {
  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
  ) {}

  /** The room's live children of `parentIds` with one of `relTypes`, in topological order. */
  async children(roomId: string, parentIds: readonly string[], relTypes: readonly string[], db: Db = this.db): Promise<Child[]> {
    if (parentIds.length === 0) return [];
    const rows = await this.live(db, await this.rooms.nid(roomId, db))
      .whereIn('r.relates_to_id', listOf(db, parentIds, 'text'))
      .whereIn('r.rel_type', relTypes)
      .orderBy([
        { column: 'e.depth', order: 'asc' },
        { column: 'e.stream_ordering', order: 'asc' },
      ])
      .select('r.event_id', 'r.relates_to_id', 'r.rel_type', 'r.sender');
    return rows.map((r) => ({ eventId: r.event_id, parentId: r.relates_to_id, relType: r.rel_type, sender: r.sender }));
  }

  /** Which of `parentIds` have live children of any of `relTypes`. */
  async parentsWithChildren(roomId: string, parentIds: readonly string[], relTypes: readonly string[], db: Db = this.db): Promise<Set<string>> {
    if (parentIds.length === 0) return new Set();
    const rows = await this.live(db, await this.rooms.nid(roomId, db))
      .whereIn('r.relates_to_id', listOf(db, parentIds, 'text'))
      .whereIn('r.rel_type', relTypes)
      .distinct('r.relates_to_id');
    return new Set(rows.map((r: { relates_to_id: string }) => r.relates_to_id));
  }

  /** For each of `rootIds` with live m.thread children not sent by `ignored` users: the thread's summary. */
  async threadSummaries(
    roomId: string,
    rootIds: readonly string[],
    options: { userId: string; ignored: readonly string[]; latest: number },
    db: Db = this.db,
  ): Promise<Map<string, ThreadSummary>> {
    if (rootIds.length === 0) return new Map();
    const ranked = this.live(db, await this.rooms.nid(roomId, db))
      .whereIn('r.relates_to_id', listOf(db, rootIds, 'text'))
      .where('r.rel_type', 'm.thread')
      .select(
        'r.relates_to_id as root',
        'r.event_id',
        db.raw('count(*) over (partition by r.relates_to_id) as n'),
        db.raw('max(case when r.sender = ? then 1 else 0 end) over (partition by r.relates_to_id) as mine', [options.userId]),
        db.raw('row_number() over (partition by r.relates_to_id order by e.depth desc, e.stream_ordering desc) as rank'),
      );
    if (options.ignored.length > 0) ranked.whereNotIn('r.sender', listOf(db, options.ignored, 'text'));
    const rows = await db.from(ranked.as('t')).where('t.rank', '<=', options.latest).orderBy(['t.root', 't.rank']).select('*');
    const summaries = new Map<string, ThreadSummary>();
    for (const r of rows) {
      let summary = summaries.get(r.root);
      if (!summary) summaries.set(r.root, (summary = { count: Number(r.n), participated: Number(r.mine) === 1, latest: [] }));
      summary.latest.push(r.event_id);
    }
    return summaries;
  }

  /**
   * The live events relating to `parentId` in the room, directly or (with
   * levels > 1) through other such events; rel type and event type filters
   * apply at every level. Event IDs with their positions, in `order`.
   */
  async related(roomId: string, parentId: string, query: RelatedQuery, db: Db = this.db): Promise<(Position & { eventId: string })[]> {
    const roomNid = await this.rooms.nid(roomId, db);
    const step = (q: ReturnType<Db['queryBuilder']>) => {
      const live = this.live(db, roomNid, q);
      if (query.relType !== undefined) live.where('r.rel_type', query.relType);
      if (query.eventType !== undefined) live.where('r.type', query.eventType);
      return live;
    };
    const rows = await db
      .withRecursive('tree', (tree) => {
        step(tree.select('r.event_nid as nid', 'r.event_id as event_id', db.raw('1 as level')))
          .where('r.relates_to_id', parentId)
          .union((deeper) => {
            step(deeper.select('r.event_nid', 'r.event_id', db.raw('t.level + 1')))
              .join('tree as t', 't.event_id', 'r.relates_to_id')
              .where('t.level', '<', query.levels);
          });
      })
      .from('tree')
      .join('events as e', 'e.nid', 'tree.nid')
      .modify((q) => {
        if (query.after) q.whereRaw('(e.depth, e.stream_ordering) > (?, ?)', [query.after.depth, query.after.stream]);
        if (query.before) q.whereRaw('(e.depth, e.stream_ordering) < (?, ?)', [query.before.depth, query.before.stream]);
        if (query.excludeSenders?.length) q.whereNotIn('e.sender', listOf(db, query.excludeSenders, 'text'));
      })
      .distinct('e.event_id', 'e.depth', 'e.stream_ordering')
      .orderBy([
        { column: 'e.depth', order: query.order },
        { column: 'e.stream_ordering', order: query.order },
      ])
      .limit(query.limit);
    return rows.map((r) => ({ eventId: r.event_id, depth: Number(r.depth), stream: Number(r.stream_ordering) }));
  }

  /**
   * The room's thread roots, those with the latest thread event first, below
   * `before` (exclusive). With `participant`, only threads they started or
   * replied in.
   */
  async threads(
    roomId: string,
    query: { before?: Position; limit: number; participant?: string },
    db: Db = this.db,
  ): Promise<(Position & { rootId: string })[]> {
    const q = db('threads as t')
      .where('t.room_nid', await this.rooms.nid(roomId, db))
      .orderBy([
        { column: 't.latest_depth', order: 'desc' },
        { column: 't.latest_stream', order: 'desc' },
      ])
      .limit(query.limit)
      .select('t.root_id', 't.latest_depth', 't.latest_stream');
    if (query.before) q.whereRaw('(t.latest_depth, t.latest_stream) < (?, ?)', [query.before.depth, query.before.stream]);
    const participant = query.participant;
    if (participant !== undefined) {
      q.where((either) =>
        either
          .whereExists(db('events as root').whereRaw('root.event_id = t.root_id').where('root.sender', participant).select(db.raw('1')))
          .orWhereExists(
            db('relations as r')
              .whereRaw('r.relates_to_id = t.root_id')
              .where({ 'r.rel_type': 'm.thread', 'r.sender': participant })
              .select(db.raw('1')),
          ),
      );
    }
    return (await q).map((r) => ({ rootId: r.root_id, depth: Number(r.latest_depth), stream: Number(r.latest_stream) }));
  }

  /** Relations rows of the room whose child is accepted and unredacted. */
  private live(db: Db, roomNid: number, q = db.queryBuilder()) {
    return q
      .from('relations as r')
      .join('events as e', 'e.nid', 'r.event_nid')
      .where({ 'r.room_nid': roomNid, 'e.status': 'accepted' })
      .whereNull('e.redacted_by');
  }
}

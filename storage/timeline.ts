/**
 * Timeline reads beside EventStore's range reads: where a stream position falls
 * in a room, a user's latest join, and events by timestamp. All are range scans
 * of the partial timeline indexes (accepted events only).
 */
import type { Db } from './db';
import type { RoomStore } from './rooms';
import { listOf } from './transactions';

export interface TimelinePosition {
  eventId: string;
  depth: number;
  streamOrdering: number;
}

export interface TimestampCursor {
  ts: number;
  streamOrdering: number;
}

export class TimelineStore {
  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
  ) {}

  /** The room's timeline event with the highest stream ordering at or below `stream`. */
  async lastAtOrBefore(roomId: string, stream: number, db: Db = this.db): Promise<TimelinePosition | undefined> {
    const row = await db('events')
      .where('room_nid', await this.rooms.nid(roomId, db))
      .whereNotNull('stream_ordering')
      .andWhere('stream_ordering', '<=', stream)
      .orderBy('stream_ordering', 'desc')
      .first('event_id', 'depth', 'stream_ordering');
    return row && { eventId: row.event_id, depth: Number(row.depth), streamOrdering: Number(row.stream_ordering) };
  }

  /** The stream ordering of the user's latest accepted join to the room, if any. */
  async lastJoin(roomId: string, userId: string, db: Db = this.db): Promise<number | undefined> {
    const row = await db('events')
      .where({ room_nid: await this.rooms.nid(roomId, db), state_key: userId, membership: 'join', type: 'm.room.member' })
      .whereNotNull('stream_ordering')
      .max<{ max: number | string | null }[]>({ max: 'stream_ordering' })
      .first();
    return row?.max == null ? undefined : Number(row.max);
  }

  /**
   * Timeline event IDs ordered by (origin_server_ts, stream ordering) from `ts`:
   * forwards those at or after it, backwards those at or before it, continuing
   * past `after` (exclusive) when given.
   */
  async byTimestamp(
    roomId: string,
    range: { ts: number; dir: 'f' | 'b'; after?: TimestampCursor; limit: number },
    db: Db = this.db,
  ): Promise<(TimelinePosition & { ts: number })[]> {
    const forwards = range.dir === 'f';
    const order = forwards ? 'asc' : 'desc';
    const query = db('events')
      .where('room_nid', await this.rooms.nid(roomId, db))
      .whereNotNull('stream_ordering')
      .andWhere('origin_server_ts', forwards ? '>=' : '<=', range.ts)
      .orderBy([
        { column: 'origin_server_ts', order },
        { column: 'stream_ordering', order },
      ])
      .limit(range.limit)
      .select('event_id', 'depth', 'stream_ordering', 'origin_server_ts');
    if (range.after) {
      query.whereRaw(`(origin_server_ts, stream_ordering) ${forwards ? '>' : '<'} (?, ?)`, [range.after.ts, range.after.streamOrdering]);
    }
    return (await query).map((r) => ({
      eventId: r.event_id,
      depth: Number(r.depth),
      streamOrdering: Number(r.stream_ordering),
      ts: Number(r.origin_server_ts),
    }));
  }

  /**
   * The room's state once its last live timeline event at or below `stream`
   * was applied (what a sync at that position saw); undefined before the
   * room's first live event. Backfilled history (negative orderings) never
   * was the room's state.
   */
  async stateGroupAt(roomId: string, stream: number, db: Db = this.db): Promise<number | undefined> {
    const row = await db('events')
      .where('room_nid', await this.rooms.nid(roomId, db))
      .where('stream_ordering', '>', 0)
      .andWhere('stream_ordering', '<=', stream)
      .orderBy('stream_ordering', 'desc')
      .first('state_after', 'room_state');
    const group = row?.room_state ?? row?.state_after;
    return group == null ? undefined : Number(group);
  }

  /**
   * The gaps at these events: for each, its prev events that are not in the
   * DAG here (not stored, or stored as outliers: where they sit is unknown),
   * so the history right behind it is missing. Events without gaps are left out.
   * Prev events stored as rejected or soft-failed are no gap: there is nothing to fetch.
   */
  async gapsAt(eventIds: readonly string[], db: Db = this.db): Promise<Map<string, string[]>> {
    const gaps = new Map<string, string[]>();
    if (eventIds.length === 0) return gaps;
    const rows: { event_id: string; prev_event_id: string }[] = await db('events as e')
      .join('event_prev_edges as p', 'p.event_nid', 'e.nid')
      .leftJoin('events as x', 'x.event_id', 'p.prev_event_id')
      .whereIn('e.event_id', listOf(db, eventIds, 'text'))
      .andWhere((q) => q.whereNull('x.nid').orWhere('x.status', 'outlier'))
      .select('e.event_id', 'p.prev_event_id');
    for (const { event_id: id, prev_event_id: prev } of rows) {
      const list = gaps.get(id);
      if (list) list.push(prev);
      else gaps.set(id, [prev]);
    }
    return gaps;
  }
}

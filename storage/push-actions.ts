/**
 * Notifications: one row per (user, event) that notified the user, written in
 * the event's own transaction so that counts never lag the timeline. A read
 * receipt marks the rows it covers as read; unread counts then read only the
 * unread rows (a partial index holds just those).
 *
 * Counts are kept per user and room as of a stream position and brought
 * forward by the rows written since, which every member woken by the same
 * event reads at once (one query for all of them). Marking rows read is the
 * only other change to counts, and it forgets the user's counts in that room.
 */
import type { Db } from './db';
import type { RoomStore } from './rooms';
import { SharedReads } from './shared-reads';
import { isPostgresDb, listOf, whenSettled } from './transactions';

export interface NewNotification {
  userId: string;
  highlight: boolean;
  /** The matched rule's actions, as JSON. */
  actionsJson: string;
}

export interface UnreadCount {
  roomId: string;
  threadId: string;
  notifications: number;
  highlights: number;
}

export interface StoredNotification {
  roomId: string;
  eventId: string;
  streamOrdering: number;
  actions: unknown[];
  ts: number;
  read: boolean;
}

/** Which unread rows a read receipt covers: everything up to its event, or one thread's. */
export interface ReadUpTo {
  streamOrdering: number;
  /** Absent: an unthreaded receipt (all threads). */
  threadId?: string;
}

/** Counts by thread, of one user in one room. */
type ThreadCounts = Map<string, { notifications: number; highlights: number }>;

/** Users whose counts are kept, per room. */
const KEPT_COUNTS = 100_000;

export class PushActionStore {
  /** `${user} ${room}` → the user's unread counts there, as of stream position `upTo`. */
  private readonly kept = new Map<string, { upTo: number; threads: ThreadCounts }>();
  /** Bumped by every change to what is read: counts read across one are not kept. */
  private generation = 0;
  /** A room's unread rows in a stream range, by user. */
  private readonly newRows = new SharedReads<Map<string, { thread_id: string; highlight: boolean | number }[]>>(10_000, 16);

  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
  ) {}

  /**
   * Records the users an event notified; call in the event's transaction. One
   * statement whatever the number of users: the rows travel as one JSON parameter.
   */
  async insert(trx: Db, event: { roomId: string; streamOrdering: number; threadId: string }, rows: readonly NewNotification[], ts: number): Promise<void> {
    if (rows.length === 0) return;
    const json = JSON.stringify(rows.map((r) => ({ user_id: r.userId, highlight: r.highlight, actions_json: r.actionsJson })));
    const source = isPostgresDb(trx)
      ? 'jsonb_to_recordset(cast(? as jsonb)) as x(user_id text, highlight boolean, actions_json text)'
      : `(select json_extract(value, '$.user_id') as user_id, json_extract(value, '$.highlight') as highlight,
                 json_extract(value, '$.actions_json') as actions_json from json_each(?)) as x`;
    await trx.raw(
      `insert into push_actions (user_id, room_nid, stream_ordering, thread_id, highlight, actions_json, ts)
       select x.user_id, cast(? as integer), cast(? as bigint), cast(? as text), x.highlight, x.actions_json, cast(? as bigint) from ${source}`,
      [await this.rooms.nid(event.roomId, trx), event.streamOrdering, event.threadId, ts, json],
    );
  }

  /** Marks the user's unread notifications in the room that `upTo` covers as read; returns how many. */
  async markRead(trx: Db, userId: string, roomId: string, upTo: ReadUpTo, ts: number): Promise<number> {
    this.forget(trx, userId, roomId);
    const query = trx('push_actions')
      .where({ user_id: userId, room_nid: await this.rooms.nid(roomId, trx) })
      .whereNull('read_ts')
      .andWhere('stream_ordering', '<=', upTo.streamOrdering);
    if (upTo.threadId !== undefined) query.andWhere('thread_id', upTo.threadId);
    return query.update({ read_ts: ts });
  }

  /** Marks the notifications of the user's invites to the room as read (they joined). */
  async markInvitesRead(trx: Db, userId: string, roomId: string, ts: number): Promise<number> {
    this.forget(trx, userId, roomId);
    const roomNid = await this.rooms.nid(roomId, trx);
    const invites = trx('events').where({ room_nid: roomNid, state_key: userId, membership: 'invite' }).select('stream_ordering');
    return trx('push_actions').where({ user_id: userId, room_nid: roomNid }).whereNull('read_ts').whereIn('stream_ordering', invites).update({ read_ts: ts });
  }

  /** The user's unread notifications in these rooms as of stream position `upTo`, by room and thread. */
  async unreadCounts(userId: string, roomIds: readonly string[], upTo: number): Promise<UnreadCount[]> {
    const generation = this.generation;
    const counts = new Map<string, ThreadCounts>();
    const missing: string[] = [];
    for (const roomId of roomIds) {
      const kept = this.kept.get(`${userId} ${roomId}`);
      if (kept === undefined || kept.upTo > upTo) missing.push(roomId);
      else counts.set(roomId, kept.upTo === upTo ? kept.threads : await this.broughtForward(userId, roomId, kept, upTo));
    }
    for (const [roomId, threads] of await this.read(userId, missing, upTo)) counts.set(roomId, threads);
    if (generation === this.generation) {
      for (const [roomId, threads] of counts) this.keep(`${userId} ${roomId}`, { upTo, threads });
    }
    return [...counts].flatMap(([roomId, threads]) => [...threads].map(([threadId, c]) => ({ roomId, threadId, ...c })));
  }

  /** Kept counts plus the user's rows in (kept.upTo, upTo]. */
  private async broughtForward(userId: string, roomId: string, kept: { upTo: number; threads: ThreadCounts }, upTo: number): Promise<ThreadCounts> {
    const byUser = await this.newRows.get(`${roomId} ${kept.upTo} ${upTo}`, async () => {
      const rows: { user_id: string; thread_id: string; highlight: boolean | number }[] = await this.db('push_actions')
        .where('room_nid', await this.rooms.nid(roomId))
        .andWhere('stream_ordering', '>', kept.upTo)
        .andWhere('stream_ordering', '<=', upTo)
        .whereNull('read_ts')
        .select('user_id', 'thread_id', 'highlight');
      const users = new Map<string, { thread_id: string; highlight: boolean | number }[]>();
      for (const row of rows) {
        let list = users.get(row.user_id);
        if (!list) users.set(row.user_id, (list = []));
        list.push(row);
      }
      return users;
    });
    const mine = byUser.get(userId);
    if (!mine) return kept.threads;
    const threads: ThreadCounts = new Map([...kept.threads].map(([thread, c]) => [thread, { ...c }]));
    for (const row of mine) {
      const c = threads.get(row.thread_id) ?? { notifications: 0, highlights: 0 };
      threads.set(row.thread_id, { notifications: c.notifications + 1, highlights: c.highlights + (row.highlight ? 1 : 0) });
    }
    return threads;
  }

  private async read(userId: string, roomIds: readonly string[], upTo: number): Promise<Map<string, ThreadCounts>> {
    const out = new Map<string, ThreadCounts>(roomIds.map((roomId) => [roomId, new Map()]));
    if (roomIds.length === 0) return out;
    const rows: { room_id: string; thread_id: string; n: number | string; h: number | string }[] = await this.db('push_actions as pa')
      .join('rooms as r', 'r.nid', 'pa.room_nid')
      .where('pa.user_id', userId)
      .whereNull('pa.read_ts')
      .andWhere('pa.stream_ordering', '<=', upTo)
      .whereIn('r.room_id', listOf(this.db, roomIds, 'text'))
      .groupBy('r.room_id', 'pa.thread_id')
      .select('r.room_id', 'pa.thread_id')
      .count({ n: '*' })
      .sum({ h: this.db.raw('case when pa.highlight then 1 else 0 end') });
    for (const r of rows) out.get(r.room_id)!.set(r.thread_id, { notifications: Number(r.n), highlights: Number(r.h ?? 0) });
    return out;
  }

  private keep(key: string, counts: { upTo: number; threads: ThreadCounts }): void {
    this.kept.delete(key);
    this.kept.set(key, counts);
    if (this.kept.size > KEPT_COUNTS) this.kept.delete(this.kept.keys().next().value!);
  }

  /** Drops the user's kept counts in the room now and again once `trx` ends: reads straddling the change are not kept. */
  private forget(trx: Db, userId: string, roomId: string): void {
    const drop = () => {
      this.generation++;
      this.kept.delete(`${userId} ${roomId}`);
    };
    drop();
    whenSettled(trx, drop, drop);
  }

  /**
   * For push gateways: each user's unread notifications (in the rooms they are
   * joined to, and their pending invites: joining or leaving a room settles what
   * was unread there), and how many of them are calls.
   */
  async badges(userIds: readonly string[]): Promise<Map<string, { unread: number; missedCalls: number }>> {
    const out = new Map(userIds.map((id) => [id, { unread: 0, missedCalls: 0 }]));
    if (userIds.length === 0) return out;
    const rows: { user_id: string; n: number | string; calls: number | string | null }[] = await this.db('push_actions as pa')
      .join('events as e', 'e.stream_ordering', 'pa.stream_ordering')
      .whereIn('pa.user_id', listOf(this.db, userIds, 'text'))
      .whereNull('pa.read_ts')
      .groupBy('pa.user_id')
      .select('pa.user_id')
      .count({ n: '*' })
      .sum({ calls: this.db.raw("case when e.type = 'm.call.invite' then 1 else 0 end") });
    for (const r of rows) out.set(r.user_id, { unread: Number(r.n), missedCalls: Number(r.calls ?? 0) });
    return out;
  }

  /** The user's notifications, newest first, before stream ordering `before`. */
  async page(userId: string, options: { before?: number; limit: number; onlyHighlight: boolean }): Promise<StoredNotification[]> {
    const query = this.db('push_actions as pa')
      .join('events as e', 'e.stream_ordering', 'pa.stream_ordering')
      .join('rooms as r', 'r.nid', 'pa.room_nid')
      .where('pa.user_id', userId)
      .orderBy('pa.stream_ordering', 'desc')
      .limit(options.limit)
      .select('r.room_id', 'e.event_id', 'pa.stream_ordering', 'pa.actions_json', 'pa.ts', 'pa.read_ts');
    if (options.before !== undefined) query.andWhere('pa.stream_ordering', '<', options.before);
    if (options.onlyHighlight) query.andWhereRaw('pa.highlight');
    const rows: { room_id: string; event_id: string; stream_ordering: number | string; actions_json: string; ts: number | string; read_ts: number | null }[] = await query;
    return rows.map((r) => ({
      roomId: r.room_id,
      eventId: r.event_id,
      streamOrdering: Number(r.stream_ordering),
      actions: JSON.parse(r.actions_json),
      ts: Number(r.ts),
      read: r.read_ts !== null,
    }));
  }
}

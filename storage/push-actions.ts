/**
 * Notifications: one row per (user, event) that notified the user, written in
 * the event's own transaction so that counts never lag the timeline. A read
 * receipt marks the rows it covers as read; unread counts then read only the
 * unread rows (a partial index holds just those).
 */
import type { Db } from './db';
import type { RoomStore } from './rooms';
import { isPostgresDb, listOf } from './transactions';

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

export class PushActionStore {
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
    const query = trx('push_actions')
      .where({ user_id: userId, room_nid: await this.rooms.nid(roomId, trx) })
      .whereNull('read_ts')
      .andWhere('stream_ordering', '<=', upTo.streamOrdering);
    if (upTo.threadId !== undefined) query.andWhere('thread_id', upTo.threadId);
    return query.update({ read_ts: ts });
  }

  /** Marks the notifications of the user's invites to the room as read (they joined). */
  async markInvitesRead(trx: Db, userId: string, roomId: string, ts: number): Promise<number> {
    const roomNid = await this.rooms.nid(roomId, trx);
    const invites = trx('events').where({ room_nid: roomNid, state_key: userId, membership: 'invite' }).select('stream_ordering');
    return trx('push_actions').where({ user_id: userId, room_nid: roomNid }).whereNull('read_ts').whereIn('stream_ordering', invites).update({ read_ts: ts });
  }

  /** The user's unread notifications in these rooms, by room and thread. */
  async unreadCounts(userId: string, roomIds: readonly string[]): Promise<UnreadCount[]> {
    if (roomIds.length === 0) return [];
    const rows: { room_id: string; thread_id: string; n: number | string; h: number | string }[] = await this.db('push_actions as pa')
      .join('rooms as r', 'r.nid', 'pa.room_nid')
      .where('pa.user_id', userId)
      .whereNull('pa.read_ts')
      .whereIn('r.room_id', listOf(this.db, roomIds, 'text'))
      .groupBy('r.room_id', 'pa.thread_id')
      .select('r.room_id', 'pa.thread_id')
      .count({ n: '*' })
      .sum({ h: this.db.raw('case when pa.highlight then 1 else 0 end') });
    return rows.map((r) => ({ roomId: r.room_id, threadId: r.thread_id, notifications: Number(r.n), highlights: Number(r.h ?? 0) }));
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

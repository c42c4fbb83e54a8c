/**
 * Current membership, read from the current state: who is in a room, which
 * rooms a user is in. The membership of each m.room.member event is a column
 * of `events`, so none of these parse PDUs.
 */
import type { RoomEvent } from '../spec/pdu';
import type { Db } from './db';
import type { RoomStore } from './rooms';
import { listOf } from './transactions';

export interface Member {
  userId: string;
  membership: string;
  event: RoomEvent;
}

/** A user's membership of a room, and the event that set it. */
export interface UserMembership {
  roomId: string;
  membership: string;
  eventId: string;
  sender: string;
  /** Null for a membership event outside the timeline (an outlier from a remote join). */
  streamOrdering: number | null;
}

interface UserMembershipRaw {
  room_id: string;
  membership: string;
  event_id: string;
  sender: string;
  stream_ordering: number | string | null;
}

const userMembership = (r: UserMembershipRaw): UserMembership => ({
  roomId: r.room_id,
  membership: r.membership,
  eventId: r.event_id,
  sender: r.sender,
  streamOrdering: r.stream_ordering === null ? null : Number(r.stream_ordering),
});

/** A membership event in the timeline. */
export interface MembershipChange {
  roomId: string;
  userId: string;
  membership: string;
  streamOrdering: number;
}

export class MembershipStore {
  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
  ) {}

  /** The user's current membership of the room, if any. */
  async of(roomId: string, userId: string, db: Db = this.db): Promise<string | undefined> {
    const row = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member', 'cs.state_key': userId })
      .first('e.membership');
    return row?.membership ?? undefined;
  }

  /** The rooms in which the user's current membership is one of `memberships`. */
  async roomsOf(userId: string, memberships: readonly string[], db: Db = this.db): Promise<string[]> {
    const rows = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .join('rooms as r', 'r.nid', 'cs.room_nid')
      .where({ 'cs.state_key': userId, 'cs.type': 'm.room.member' })
      .whereIn('e.membership', memberships)
      .select('r.room_id');
    return rows.map((r: { room_id: string }) => r.room_id);
  }

  /** The room's current member events, optionally only those with (or without) a membership. */
  async members(roomId: string, filter: { membership?: string; notMembership?: string } = {}, db: Db = this.db): Promise<Member[]> {
    const query = db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member' });
    if (filter.membership !== undefined) query.andWhere('e.membership', filter.membership);
    if (filter.notMembership !== undefined) query.andWhereNot('e.membership', filter.notMembership);
    const rows = await query.select('cs.state_key', 'e.membership', 'e.event_id', 'e.pdu_json');
    return rows.map((r: { state_key: string; membership: string; event_id: string; pdu_json: string }) => ({
      userId: r.state_key,
      membership: r.membership,
      event: { id: r.event_id, pdu: JSON.parse(r.pdu_json) },
    }));
  }

  /** The room's joined members on the server `serverName` (whose user IDs end in `:serverName`). */
  async joinedOnServer(roomId: string, serverName: string, db: Db = this.db): Promise<string[]> {
    const pattern = `%:${serverName.replace(/[\\%_]/g, (c) => `\\${c}`)}`;
    const rows = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member', 'e.membership': 'join' })
      .andWhereRaw("cs.state_key like ? escape '\\'", [pattern])
      .select('cs.state_key');
    // LIKE ignores case in SQLite and the server name is what follows the first colon: keep exact matches.
    return rows.map((r: { state_key: string }) => r.state_key).filter((userId: string) => userId.slice(userId.indexOf(':') + 1) === serverName);
  }

  /**
   * Whether any user of `serverName` is joined to the room: one indexed
   * probe, stopping at the first such member (joinedOnServer lists them all).
   */
  async anyJoinedOnServer(roomId: string, serverName: string, db: Db = this.db): Promise<boolean> {
    return this.anyOnServer(roomId, serverName, ['join'], db);
  }

  /** Whether any user of `serverName` has one of `memberships` in the room (the probe anyJoinedOnServer makes). */
  async anyOnServer(roomId: string, serverName: string, memberships: readonly string[], db: Db = this.db): Promise<boolean> {
    const suffix = `:${serverName}`;
    const row = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member' })
      .whereIn('e.membership', [...memberships])
      // An exact, case-sensitive suffix (LIKE ignores case in SQLite); a valid server name has no colon before its port.
      .andWhereRaw('substr(cs.state_key, length(cs.state_key) - ?) = ?', [suffix.length - 1, suffix])
      .first(db.raw('1 as found'));
    return row !== undefined;
  }

  /** The servers of the room's joined members, each with how many of them it has (user IDs only: no event is loaded). */
  async joinedServers(roomId: string, db: Db = this.db): Promise<Map<string, number>> {
    const rows: { state_key: string }[] = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member', 'e.membership': 'join' })
      .select('cs.state_key');
    const servers = new Map<string, number>();
    for (const { state_key: userId } of rows) {
      const server = userId.slice(userId.indexOf(':') + 1);
      servers.set(server, (servers.get(server) ?? 0) + 1);
    }
    return servers;
  }

  /** How many users have each membership, e.g. for summaries and the directory. */
  async counts(roomId: string, db: Db = this.db): Promise<Map<string, number>> {
    const rows = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member' })
      .groupBy('e.membership')
      .select('e.membership')
      .count({ n: '*' });
    return new Map((rows as { membership: string; n: number | string }[]).map((r) => [r.membership, Number(r.n)]));
  }

  /** Whether both users are joined to at least one room in common. */
  async shareARoom(userA: string, userB: string, db: Db = this.db): Promise<boolean> {
    const row = await db('current_state as a')
      .join('events as ea', 'ea.nid', 'a.event_nid')
      .join('current_state as b', function () {
        this.on('b.room_nid', '=', 'a.room_nid').andOn('b.type', '=', 'a.type');
      })
      .join('events as eb', 'eb.nid', 'b.event_nid')
      .where({ 'a.type': 'm.room.member', 'a.state_key': userA, 'ea.membership': 'join', 'b.state_key': userB, 'eb.membership': 'join' })
      .first(db.raw('1 as found'));
    return row !== undefined;
  }

  /** Whether `userId` is joined to a room that a user of `serverName` is joined to as well (`userId` aside). */
  async sharesARoomWithServer(userId: string, serverName: string, db: Db = this.db): Promise<boolean> {
    const pattern = `%:${serverName.replace(/[\\%_]/g, (c) => `\\${c}`)}`;
    const rows: { state_key: string }[] = await this.roomMates(userId, db)
      .andWhereNot('other.state_key', userId)
      .andWhereRaw("other.state_key like ? escape '\\'", [pattern])
      .distinct('other.state_key')
      .limit(100);
    // LIKE ignores case in SQLite and the server name is what follows the first colon: keep exact matches.
    return rows.some((r) => r.state_key.slice(r.state_key.indexOf(':') + 1) === serverName);
  }

  /** The users joined to at least one of the rooms `userId` is joined to (including `userId`). */
  async roomMatesOf(userId: string, db: Db = this.db): Promise<Set<string>> {
    const rows: { state_key: string }[] = await this.roomMates(userId, db).distinct('other.state_key');
    return new Set(rows.map((r) => r.state_key));
  }

  /** Those of `candidates` joined to at least one room `userId` is joined to. */
  async sharingARoomWith(userId: string, candidates: readonly string[], db: Db = this.db): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const rows: { state_key: string }[] = await this.roomMates(userId, db).whereIn('other.state_key', listOf(db, candidates, 'text')).distinct('other.state_key');
    return new Set(rows.map((r) => r.state_key));
  }

  /** The current joined members (`other.state_key`) of the rooms `userId` is joined to. */
  private roomMates(userId: string, db: Db) {
    return db('current_state as mine')
      .join('events as em', 'em.nid', 'mine.event_nid')
      .join('current_state as other', function () {
        this.on('other.room_nid', '=', 'mine.room_nid').andOn('other.type', '=', 'mine.type');
      })
      .join('events as eo', 'eo.nid', 'other.event_nid')
      .where({ 'mine.type': 'm.room.member', 'mine.state_key': userId, 'em.membership': 'join', 'eo.membership': 'join' });
  }

  /**
   * The membership events of the given rooms with stream orderings in
   * (after, upTo], oldest first: who joined, left, was invited... meanwhile.
   */
  async changesIn(roomIds: readonly string[], after: number, upTo: number, db: Db = this.db): Promise<MembershipChange[]> {
    if (roomIds.length === 0) return [];
    const rows = await db('events as e')
      .join('rooms as r', 'r.nid', 'e.room_nid')
      .whereIn('r.room_id', listOf(db, roomIds, 'text'))
      .whereNotNull('e.membership')
      .andWhere('e.stream_ordering', '>', after)
      .andWhere('e.stream_ordering', '<=', upTo)
      .orderBy('e.stream_ordering')
      .select('r.room_id', 'e.state_key', 'e.membership', 'e.stream_ordering');
    return rows.map((r: { room_id: string; state_key: string; membership: string; stream_ordering: number | string }) => ({
      roomId: r.room_id,
      userId: r.state_key,
      membership: r.membership,
      streamOrdering: Number(r.stream_ordering),
    }));
  }

  /** The user's membership of every room whose current state has one. */
  async currentOf(userId: string, db: Db = this.db): Promise<UserMembership[]> {
    const rows: UserMembershipRaw[] = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .join('rooms as r', 'r.nid', 'cs.room_nid')
      .where({ 'cs.state_key': userId, 'cs.type': 'm.room.member' })
      .select('r.room_id', 'e.membership', 'e.event_id', 'e.sender', 'e.stream_ordering');
    return rows.map(userMembership);
  }

  /** The user's latest membership event at or before stream position `stream` in each of the rooms (rooms without one are absent). */
  async atPosition(userId: string, roomIds: readonly string[], stream: number, db: Db = this.db): Promise<Map<string, UserMembership>> {
    const out = new Map<string, UserMembership>();
    for (const roomId of roomIds) {
      const row: UserMembershipRaw | undefined = await db('events as e')
        .join('rooms as r', 'r.nid', 'e.room_nid')
        .where({ 'e.room_nid': await this.rooms.nid(roomId, db), 'e.state_key': userId, 'e.type': 'm.room.member' })
        .whereNotNull('e.membership')
        // Live positions only: backfilled history (negative) is no membership a sync saw.
        .andWhere('e.stream_ordering', '>', 0)
        .andWhere('e.stream_ordering', '<=', stream)
        .orderBy('e.stream_ordering', 'desc')
        .first('r.room_id', 'e.membership', 'e.event_id', 'e.sender', 'e.stream_ordering');
      if (row) out.set(roomId, userMembership(row));
    }
    return out;
  }

  /**
   * The members to name a room after (sync's m.heroes, "the first 5"): joined
   * or invited users other than `userId`, earliest first; when there are
   * none, users who left or were banned.
   */
  async heroes(roomId: string, userId: string, db: Db = this.db): Promise<string[]> {
    const limit = 5;
    const rows = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': 'm.room.member' })
      .andWhereNot('cs.state_key', userId)
      .orderByRaw("case when e.membership in ('join', 'invite') then 0 else 1 end, e.stream_ordering, e.nid")
      .limit(limit)
      .select('cs.state_key', 'e.membership');
    const present = rows.filter((r: { membership: string }) => r.membership === 'join' || r.membership === 'invite');
    return (present.length > 0 ? present : rows).map((r: { state_key: string }) => r.state_key);
  }
}

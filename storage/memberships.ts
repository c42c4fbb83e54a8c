/**
 * Current membership, read from the current state: who is in a room, which
 * rooms a user is in. The membership of each m.room.member event is a column
 * of `events`, so none of these parse PDUs.
 */
import type { RoomEvent } from '../spec/pdu';
import type { Db } from './db';
import type { RoomStore } from './rooms';

export interface Member {
  userId: string;
  membership: string;
  event: RoomEvent;
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
}

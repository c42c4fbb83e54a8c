/**
 * Rooms users have forgotten (POST /forget). A row keeps the user's membership
 * event at the time; the room counts as forgotten only while that is still their
 * current membership, so re-joining, a new invite or a knock brings it back
 * without anything having to clear the row.
 */
import type { Db } from './db';
import { isPostgresDb } from './transactions';

export class ForgottenRoomStore {
  constructor(private readonly db: Db) {}

  /** Records that the user forgot the room while their membership event was `membershipEventId`. */
  async forget(userId: string, roomId: string, membershipEventId: string | null, db: Db = this.db): Promise<void> {
    await db('forgotten_rooms')
      .insert({ user_id: userId, room_id: roomId, membership_event_id: membershipEventId })
      .onConflict(['user_id', 'room_id'])
      .merge(['membership_event_id']);
  }

  async isForgotten(userId: string, roomId: string, db: Db = this.db): Promise<boolean> {
    return (await this.forgotten(userId, db).where('fr.room_id', roomId).first('fr.room_id')) !== undefined;
  }

  /** Every room the user has forgotten, e.g. to leave out of /sync. */
  async roomsForgottenBy(userId: string, db: Db = this.db): Promise<Set<string>> {
    const rows = await this.forgotten(userId, db).select('fr.room_id');
    return new Set(rows.map((r: { room_id: string }) => r.room_id));
  }

  /** The user's forgotten_rooms rows whose membership event is still their current one. */
  private forgotten(userId: string, db: Db) {
    const sameEvent = isPostgresDb(db) ? 'e.event_id is not distinct from fr.membership_event_id' : 'e.event_id is fr.membership_event_id';
    return db('forgotten_rooms as fr')
      .join('rooms as r', 'r.room_id', 'fr.room_id')
      .leftJoin('current_state as cs', (on) => {
        on.on('cs.room_nid', 'r.nid').andOn('cs.state_key', 'fr.user_id').andOnVal('cs.type', 'm.room.member');
      })
      .leftJoin('events as e', 'e.nid', 'cs.event_nid')
      .where('fr.user_id', userId)
      .whereRaw(sameEvent);
  }
}

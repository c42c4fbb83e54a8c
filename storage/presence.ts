/**
 * Each user's current presence. A change clients must hear about gives the row
 * a new, higher stream position; bumping only the last-active time does not.
 */
import type { PresenceState } from '../spec/schemas/presence';
import type { Db } from './db';
import { StreamPositions } from './stream-positions';
import { listOf } from './transactions';

export interface PresenceFields {
  state: PresenceState;
  statusMsg: string | null;
  lastActiveTs: number;
  currentlyActive: boolean;
}

export interface PresenceRow extends PresenceFields {
  userId: string;
  streamId: number;
}

interface Raw {
  stream_id: number;
  user_id: string;
  state: PresenceState;
  status_msg: string | null;
  last_active_ts: number;
  currently_active: number | boolean;
}

const COLUMNS = ['p.stream_id', 'p.user_id', 'p.state', 'p.status_msg', 'p.last_active_ts', 'p.currently_active'];

const fromRaw = (r: Raw): PresenceRow => ({
  userId: r.user_id,
  streamId: Number(r.stream_id),
  state: r.state,
  statusMsg: r.status_msg,
  lastActiveTs: Number(r.last_active_ts),
  currentlyActive: Boolean(r.currently_active),
});

export class PresenceStore {
  /** Positions in this stream that readers may rely on (`latest()`), and when a write may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(private readonly db: Db) {
    this.positions = new StreamPositions(db, 'presence', 'stream_id');
  }

  async get(userId: string): Promise<PresenceRow | undefined> {
    const row: Raw | undefined = await this.db('presence as p').where('p.user_id', userId).first(COLUMNS);
    return row && fromRaw(row);
  }

  /** Stores a change clients must hear about; returns its stream position. */
  async set(userId: string, fields: PresenceFields): Promise<number> {
    const row = {
      user_id: userId,
      state: fields.state,
      status_msg: fields.statusMsg,
      last_active_ts: fields.lastActiveTs,
      currently_active: fields.currentlyActive,
    };
    return this.positions.track(
      this.db,
      async () => {
        // On conflict the row takes the stream_id freshly allocated for the insert that did not happen.
        const [stored] = await this.db('presence')
          .insert(row)
          .onConflict('user_id')
          .merge({ ...row, stream_id: this.db.raw('excluded.stream_id') })
          .returning('stream_id');
        return Number(stored.stream_id);
      },
      (position) => position,
    );
  }

  /** Records a later last-active time without announcing it (the user is currently active anyway). */
  async touch(userId: string, lastActiveTs: number): Promise<void> {
    await this.db('presence').where({ user_id: userId }).update({ last_active_ts: lastActiveTs });
  }

  /** The presence of users who are online or unavailable. */
  async notOffline(): Promise<PresenceRow[]> {
    const rows: Raw[] = await this.db('presence as p').whereIn('p.state', ['online', 'unavailable']).select(COLUMNS);
    return rows.map(fromRaw);
  }

  /** The presence of these users, those who are offline left out, as of `upTo`. */
  async notOfflineAmong(userIds: readonly string[], upTo: number): Promise<PresenceRow[]> {
    if (userIds.length === 0) return [];
    const rows: Raw[] = await this.db('presence as p')
      .whereIn('p.user_id', listOf(this.db, userIds, 'text'))
      .whereNot('p.state', 'offline')
      .andWhere('p.stream_id', '<=', upTo)
      .orderBy('p.stream_id')
      .select(COLUMNS);
    return rows.map(fromRaw);
  }

  /** The presence of the users joined to any of these rooms, those offline left out, as of `upTo`. */
  async notOfflineInRooms(roomIds: readonly string[], upTo: number): Promise<PresenceRow[]> {
    if (roomIds.length === 0) return [];
    const db = this.db;
    const rows: Raw[] = await db('presence as p')
      .whereExists(
        db('current_state as cs')
          .join('rooms as r', 'r.nid', 'cs.room_nid')
          .join('events as e', 'e.nid', 'cs.event_nid')
          .whereIn('r.room_id', listOf(db, roomIds, 'text'))
          .where({ 'cs.type': 'm.room.member', 'e.membership': 'join' })
          .andWhereRaw('cs.state_key = p.user_id')
          .select(db.raw('1')),
      )
      .whereNot('p.state', 'offline')
      .andWhere('p.stream_id', '<=', upTo)
      .orderBy('p.stream_id')
      .select(COLUMNS);
    return rows.map(fromRaw);
  }

  /** The presence of `viewer` and of every user sharing a joined room with them, those offline left out. */
  async notOfflineVisibleTo(viewer: string, upTo: number): Promise<PresenceRow[]> {
    const rows: Raw[] = await this.visibleTo(viewer)
      .whereNot('p.state', 'offline')
      .andWhere('p.stream_id', '<=', upTo)
      .orderBy('p.stream_id')
      .select(COLUMNS);
    return rows.map(fromRaw);
  }

  /** Changes in (after, upTo] to the presence of `viewer` and of users sharing a joined room with them, oldest first. */
  async changesVisibleTo(viewer: string, after: number, upTo: number): Promise<PresenceRow[]> {
    const rows: Raw[] = await this.visibleTo(viewer)
      .andWhere('p.stream_id', '>', after)
      .andWhere('p.stream_id', '<=', upTo)
      .orderBy('p.stream_id')
      .select(COLUMNS);
    return rows.map(fromRaw);
  }



  /** Presence rows of `viewer` and of the users joined to a room `viewer` is joined to. */
  private visibleTo(viewer: string) {
    const db = this.db;
    return db('presence as p').where((where) =>
      where.where('p.user_id', viewer).orWhereExists(
        db('current_state as mine')
          .join('events as em', 'em.nid', 'mine.event_nid')
          .join('current_state as other', function () {
            this.on('other.room_nid', '=', 'mine.room_nid').andOn('other.type', '=', 'mine.type');
          })
          .join('events as eo', 'eo.nid', 'other.event_nid')
          .where({ 'mine.type': 'm.room.member', 'mine.state_key': viewer, 'em.membership': 'join', 'eo.membership': 'join' })
          .andWhereRaw('other.state_key = p.user_id')
          .select(db.raw('1')),
      ),
    );
  }
}

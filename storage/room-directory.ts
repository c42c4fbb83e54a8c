/**
 * The published room directory: which rooms are listed, and what the listing
 * shows of them, read for every published room in two queries.
 */
import type { Pdu } from '../spec/pdu';
import type { Db } from './db';

export interface PublishedRoom {
  roomId: string;
  version: string;
  joinedMembers: number;
  /** The requested state events (state key ''), by type; `redacted` when a redaction of the event was accepted. */
  state: Map<string, { pdu: Pdu; redacted: boolean }>;
}

export class RoomDirectoryStore {
  constructor(private readonly db: Db) {}

  async publish(roomId: string, nowMs: number, db: Db = this.db): Promise<void> {
    await db('room_directory').insert({ room_id: roomId, published_ts: nowMs }).onConflict('room_id').ignore();
  }

  async unpublish(roomId: string, db: Db = this.db): Promise<void> {
    await db('room_directory').where({ room_id: roomId }).delete();
  }

  async isPublished(roomId: string, db: Db = this.db): Promise<boolean> {
    return (await db('room_directory').where({ room_id: roomId }).first('room_id')) !== undefined;
  }

  /** Every published room with the current events of `types` (state key '') and its joined-member count. */
  async published(types: readonly string[], db: Db = this.db): Promise<PublishedRoom[]> {
    const rooms = new Map<string, PublishedRoom>();
    const roomRows = await db('room_directory as rd').join('rooms as r', 'r.room_id', 'rd.room_id').select('rd.room_id', 'r.room_version');
    for (const row of roomRows) {
      rooms.set(row.room_id, { roomId: row.room_id, version: row.room_version, joinedMembers: 0, state: new Map() });
    }
    if (rooms.size === 0) return [];

    const stateRows = await db('room_directory as rd')
      .join('rooms as r', 'r.room_id', 'rd.room_id')
      .join('current_state as cs', 'cs.room_nid', 'r.nid')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where('cs.state_key', '')
      .whereIn('cs.type', types)
      .select('rd.room_id', 'cs.type', 'e.pdu_json', 'e.redacted_by');
    for (const row of stateRows) {
      rooms.get(row.room_id)?.state.set(row.type, { pdu: JSON.parse(row.pdu_json), redacted: row.redacted_by !== null });
    }

    const countRows = await db('room_directory as rd')
      .join('rooms as r', 'r.room_id', 'rd.room_id')
      .join('current_state as cs', 'cs.room_nid', 'r.nid')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.type': 'm.room.member', 'e.membership': 'join' })
      .groupBy('rd.room_id')
      .select('rd.room_id')
      .count({ n: '*' });
    for (const row of countRows as { room_id: string; n: number | string }[]) {
      const room = rooms.get(row.room_id);
      if (room) room.joinedMembers = Number(row.n);
    }
    return [...rooms.values()];
  }
}

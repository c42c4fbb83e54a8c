/**
 * The published room directory: which rooms are listed, and what the listing
 * shows of them (readSummaryStates), read for every published room at once.
 */
import type { Db } from './db';
import { readSummaryStates, type RoomSummaryState, type SummaryStateRequest } from './room-summaries';

/** A published room and the state its listing is made from. */
export type PublishedRoom = RoomSummaryState;

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

  /** Every published room with the summary state `request` names. */
  async published(request: SummaryStateRequest, db: Db = this.db): Promise<PublishedRoom[]> {
    return [...(await readSummaryStates(db, db('room_directory').select('room_id'), request)).values()];
  }
}

/**
 * Receipts: one per (room, user, receipt type, thread), each pointing at an
 * event. Every write moves the receipt to a new, higher stream position: the
 * receipts stream of /sync.
 */
import type { Db } from './db';
import type { RoomStore } from './rooms';
import { StreamPositions } from './stream-positions';
import { listOf } from './transactions';

/** The thread column of an unthreaded receipt. */
const UNTHREADED = '';

/** Receipt types only their owner may see. */
export const PRIVATE_RECEIPT_TYPES: readonly string[] = ['m.read.private'];

export interface Receipt {
  roomId: string;
  userId: string;
  type: string;
  /** Absent for an unthreaded receipt. */
  threadId?: string;
  eventId: string;
  /** The stream ordering of the event. */
  eventStream: number;
  ts: number;
}

interface Raw {
  room_id: string;
  user_id: string;
  receipt_type: string;
  thread_id: string;
  event_id: string;
  event_stream: number | string;
  ts: number | string;
}

const fromRaw = (r: Raw): Receipt => ({
  roomId: r.room_id,
  userId: r.user_id,
  type: r.receipt_type,
  ...(r.thread_id === UNTHREADED ? {} : { threadId: r.thread_id }),
  eventId: r.event_id,
  eventStream: Number(r.event_stream),
  ts: Number(r.ts),
});

const COLUMNS = ['r.room_id', 'x.user_id', 'x.receipt_type', 'x.thread_id', 'x.event_id', 'x.event_stream', 'x.ts'];

export class ReceiptStore {
  /** Positions in this stream that readers may rely on (`latest()`), and when a write may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
  ) {
    this.positions = new StreamPositions(db, 'receipts', 'stream_id');
  }

  /**
   * Sets the receipt unless the one it replaces points at the same or a later
   * event (receipts only move forwards). Returns whether it was set.
   */
  async put(trx: Db, receipt: Receipt): Promise<boolean> {
    const roomNid = await this.rooms.nid(receipt.roomId, trx);
    const key = { room_nid: roomNid, user_id: receipt.userId, receipt_type: receipt.type, thread_id: receipt.threadId ?? UNTHREADED };
    const written = await this.positions.track(
      trx,
      async () => {
        const row = { ...key, event_id: receipt.eventId, event_stream: receipt.eventStream, ts: receipt.ts };
        // On conflict the row takes the stream_id freshly allocated for the insert that did not happen.
        const [result] = await trx('receipts')
          .insert(row)
          .onConflict(['room_nid', 'user_id', 'receipt_type', 'thread_id'])
          .merge({ event_id: row.event_id, event_stream: row.event_stream, ts: row.ts, stream_id: trx.raw('excluded.stream_id') })
          .where('receipts.event_stream', '<', row.event_stream)
          .returning('stream_id');
        return result === undefined ? null : Number(result.stream_id);
      },
      (position) => position,
    );
    return written !== null;
  }

  /** The receipts of these rooms as they were at position `upTo`, those `viewer` may see (a receipt moved since is left out). */
  async current(roomIds: readonly string[], upTo: number, viewer: string): Promise<Receipt[]> {
    if (roomIds.length === 0) return [];
    const rows: Raw[] = await this.visibleTo(viewer)
      .whereIn('r.room_id', listOf(this.db, roomIds, 'text'))
      .andWhere('x.stream_id', '<=', upTo)
      .select(COLUMNS);
    return rows.map(fromRaw);
  }

  /** The receipts of these rooms set in (after, upTo] that `viewer` may see, oldest first. */
  async changesIn(roomIds: readonly string[], after: number, upTo: number, viewer: string): Promise<Receipt[]> {
    if (roomIds.length === 0 || after >= upTo) return [];
    const rows: Raw[] = await this.visibleTo(viewer)
      .where('x.stream_id', '>', after)
      .andWhere('x.stream_id', '<=', upTo)
      .whereIn('r.room_id', listOf(this.db, roomIds, 'text'))
      .orderBy('x.stream_id')
      .select(COLUMNS);
    return rows.map(fromRaw);
  }



  /** Receipts, without other users' private ones. */
  private visibleTo(viewer: string) {
    return this.db('receipts as x')
      .join('rooms as r', 'r.nid', 'x.room_nid')
      .where((q) => q.whereNotIn('x.receipt_type', PRIVATE_RECEIPT_TYPES).orWhere('x.user_id', viewer));
  }
}

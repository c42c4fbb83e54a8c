/**
 * Send-to-device messages: a queue per device, in arrival order (the stream
 * position), and the transaction IDs that make sending idempotent. A message
 * stays queued until its device acknowledges it; deleting the device deletes
 * its queue (foreign-key cascade).
 */
import type { Db } from './db';
import { StreamPositions } from './stream-positions';
import { batches, listOf } from './transactions';

export interface OutgoingMessage {
  userId: string;
  deviceId: string;
  content: Record<string, unknown>;
}

export interface QueuedMessage {
  streamId: number;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

interface Raw {
  stream_id: number;
  sender: string;
  type: string;
  content_json: string;
}

/** Rows per INSERT: six values each, well below SQLite's limit on placeholders. */
const ROWS_PER_INSERT = 500;

export class DeviceInboxStore {
  /** Positions in this stream that readers may rely on (`latest()`), and when a write may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.positions = new StreamPositions(db, 'device_inbox', 'stream_id');
  }

  /** Records a sending device's transaction ID; false when it was recorded before (a retransmission). */
  async claimTxn(trx: Db, sender: { userId: string; deviceId: string }, txnId: string): Promise<boolean> {
    const inserted = await trx('to_device_txns')
      .insert({ user_id: sender.userId, device_id: sender.deviceId, txn_id: txnId, created_ts: this.now() })
      .onConflict(['user_id', 'device_id', 'txn_id'])
      .ignore()
      .returning('txn_id');
    return inserted.length > 0;
  }

  /** Whether the sending device's transaction ID is recorded (without recording it). */
  async txnClaimed(sender: { userId: string; deviceId: string }, txnId: string): Promise<boolean> {
    const row = await this.db('to_device_txns').where({ user_id: sender.userId, device_id: sender.deviceId, txn_id: txnId }).first('txn_id');
    return row !== undefined;
  }

  /** Records a message received from another server (m.direct_to_device); false when it was received before. */
  async claimRemoteMessage(trx: Db, origin: string, messageId: string): Promise<boolean> {
    const inserted = await trx('to_device_remote_txns')
      .insert({ origin, message_id: messageId, received_ts: this.now() })
      .onConflict(['origin', 'message_id'])
      .ignore()
      .returning('message_id');
    return inserted.length > 0;
  }

  /** Forgets the message IDs received before `ts`: a server retries a transaction for far less long. */
  async pruneRemoteMessages(ts: number): Promise<void> {
    await this.db('to_device_remote_txns').where('received_ts', '<', ts).delete();
  }

  /** The devices of these users (the queues messages may go to), by user. */
  async devicesOf(trx: Db, userIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const found = new Map<string, Set<string>>();
    if (userIds.length === 0) return found;
    const rows: { user_id: string; device_id: string }[] = await trx('devices')
      .whereIn('user_id', listOf(trx, userIds, 'text'))
      .select('user_id', 'device_id');
    for (const row of rows) {
      let devices = found.get(row.user_id);
      if (!devices) found.set(row.user_id, (devices = new Set()));
      devices.add(row.device_id);
    }
    return found;
  }

  /** Appends messages to their devices' queues, in the order given. */
  async enqueue(trx: Db, sender: string, type: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const insert = async () => {
      const positions: number[] = [];
      for (const batch of batches(messages, ROWS_PER_INSERT)) {
        const rows = batch.map((m) => ({ user_id: m.userId, device_id: m.deviceId, sender, type, content_json: JSON.stringify(m.content) }));
        const inserted: { stream_id: number | string }[] = await trx('device_inbox').insert(rows).returning('stream_id');
        for (const row of inserted) positions.push(Number(row.stream_id));
      }
      return positions;
    };
    // The rows take a range of positions. The tracker holds readers below the
    // range's first position while the transaction is open (outer track), and
    // moves them past its last position once it commits (inner track).
    await this.positions.track(
      trx,
      () => this.positions.track(trx, insert, (positions) => positions.reduce((a, b) => Math.max(a, b))),
      (positions) => positions.reduce((a, b) => Math.min(a, b)),
    );
  }

  /** The device's messages in (after, upTo], oldest first, at most `limit`. */
  async pending(userId: string, deviceId: string, after: number, upTo: number, limit: number): Promise<QueuedMessage[]> {
    const rows: Raw[] = await this.db('device_inbox')
      .where({ user_id: userId, device_id: deviceId })
      .andWhere('stream_id', '>', after)
      .andWhere('stream_id', '<=', upTo)
      .orderBy('stream_id')
      .limit(limit)
      .select('stream_id', 'sender', 'type', 'content_json');
    return rows.map((r) => ({ streamId: Number(r.stream_id), sender: r.sender, type: r.type, content: JSON.parse(r.content_json) }));
  }

  /** Deletes the device's messages at or below `upTo`: it has received them. */
  async acknowledge(userId: string, deviceId: string, upTo: number): Promise<void> {
    const received = () => this.db('device_inbox').where({ user_id: userId, device_id: deviceId }).andWhere('stream_id', '<=', upTo);
    // Most syncs have nothing to acknowledge: look before taking a write lock (SQLite has one for the whole database).
    if ((await received().first('stream_id')) !== undefined) await received().delete();
  }


}

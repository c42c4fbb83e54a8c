/** Transaction IDs of event-sending requests, so a retried PUT returns the event it created. */
import type { Db } from './db';
import { listOf } from './transactions';

export interface TxnKey {
  userId: string;
  deviceId: string;
  txnId: string;
}

export class EventTxnStore {
  constructor(private readonly db: Db) {}

  async eventFor(key: TxnKey, db: Db = this.db): Promise<string | undefined> {
    const row = await db('event_txns').where({ user_id: key.userId, device_id: key.deviceId, txn_id: key.txnId }).first('event_id');
    return row?.event_id;
  }

  async record(trx: Db, key: TxnKey, eventId: string, nowMs: number): Promise<void> {
    await trx('event_txns').insert({ user_id: key.userId, device_id: key.deviceId, txn_id: key.txnId, event_id: eventId, created_ts: nowMs });
  }

  /** The transaction IDs with which this device sent any of `eventIds` (for `unsigned.transaction_id`), by event ID. */
  async sentBy(userId: string, deviceId: string, eventIds: readonly string[], db: Db = this.db): Promise<Map<string, string>> {
    if (eventIds.length === 0) return new Map();
    const rows: { event_id: string; txn_id: string }[] = await db('event_txns')
      .where({ user_id: userId, device_id: deviceId })
      .whereIn('event_id', listOf(db, eventIds, 'text'))
      .select('event_id', 'txn_id');
    return new Map(rows.map((r) => [r.event_id, r.txn_id]));
  }
}

/** Transaction IDs of event-sending requests, so a retried PUT returns the event it created. */
import type { Db } from './db';

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

  /** The device and transaction ID that sent an event, for `unsigned.transaction_id`. */
  async txnOf(eventId: string, db: Db = this.db): Promise<{ userId: string; deviceId: string; txnId: string } | undefined> {
    const row = await db('event_txns').where({ event_id: eventId }).first('user_id', 'device_id', 'txn_id');
    return row && { userId: row.user_id, deviceId: row.device_id, txnId: row.txn_id };
  }
}

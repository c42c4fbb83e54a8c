/**
 * One-time and fallback keys of devices. A claim deletes the one-time key it
 * hands out in one statement, so no two claims get the same key: on
 * PostgreSQL concurrent claims skip the rows others have locked
 * (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a time.
 */
import type { Db } from './db';
import { batches, isPostgresDb, listOf } from './transactions';

export interface NewKey {
  algorithm: string;
  keyId: string;
  /** Canonical JSON of the key. */
  json: string;
}

export interface ClaimedKey {
  /** `<algorithm>:<key_id>`. */
  id: string;
  key: unknown;
}

interface KeyRow {
  algorithm: string;
  key_id: string;
  key_json: string;
}

const claimed = (r: KeyRow): ClaimedKey => ({ id: `${r.algorithm}:${r.key_id}`, key: JSON.parse(r.key_json) });

export class OneTimeKeyStore {
  constructor(private readonly db: Db) {}

  /** The stored JSON of those of `keys` the device already has, by `<algorithm>:<key_id>`. */
  async existing(userId: string, deviceId: string, keys: readonly NewKey[], trx: Db = this.db): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    if (keys.length === 0) return found;
    const wanted = new Set(keys.map((k) => `${k.algorithm}:${k.keyId}`));
    for (const batch of batches(keys)) {
      const rows: KeyRow[] = await trx('one_time_keys')
        .where({ user_id: userId, device_id: deviceId })
        .whereIn('key_id', listOf(trx, [...new Set(batch.map((k) => k.keyId))], 'text'))
        .select('algorithm', 'key_id', 'key_json');
      for (const r of rows) if (wanted.has(`${r.algorithm}:${r.key_id}`)) found.set(`${r.algorithm}:${r.key_id}`, r.key_json);
    }
    return found;
  }

  /** Adds one-time keys; a key ID the device already has keeps its stored key. */
  async add(userId: string, deviceId: string, keys: readonly NewKey[], trx: Db = this.db): Promise<void> {
    for (const batch of batches(keys, 500)) {
      await trx('one_time_keys')
        .insert(batch.map((k) => ({ user_id: userId, device_id: deviceId, algorithm: k.algorithm, key_id: k.keyId, key_json: k.json })))
        .onConflict(['user_id', 'device_id', 'algorithm', 'key_id'])
        .ignore();
    }
  }

  /** The device's unclaimed one-time keys, counted per algorithm. */
  async counts(userId: string, deviceId: string, db: Db = this.db): Promise<Record<string, number>> {
    const rows: { algorithm: string; n: number | string }[] = await db('one_time_keys')
      .where({ user_id: userId, device_id: deviceId })
      .groupBy('algorithm')
      .select('algorithm')
      .count({ n: '*' });
    return Object.fromEntries(rows.map((r) => [r.algorithm, Number(r.n)]));
  }

  /** Takes the device's oldest one-time key of `algorithm`, deleting it; undefined if none is left. */
  async claim(userId: string, deviceId: string, algorithm: string): Promise<ClaimedKey | undefined> {
    const postgres = isPostgresDb(this.db);
    // Written out because knex leaves RETURNING off a DELETE on SQLite.
    const result = await this.db.raw(
      'delete from one_time_keys where id = (' +
        'select id from one_time_keys where user_id = ? and device_id = ? and algorithm = ? order by id limit 1' +
        (postgres ? ' for update skip locked' : '') +
        ') returning algorithm, key_id, key_json',
      [userId, deviceId, algorithm],
    );
    const rows: KeyRow[] = postgres ? result.rows : result;
    return rows.length === 0 ? undefined : claimed(rows[0]);
  }

  /**
   * Sets the device's fallback key for an algorithm, unused. Uploading the key
   * it already has again changes nothing (a used key stays used).
   */
  async setFallback(userId: string, deviceId: string, key: NewKey, trx: Db = this.db): Promise<void> {
    const where = { user_id: userId, device_id: deviceId, algorithm: key.algorithm };
    const current: KeyRow | undefined = await trx('fallback_keys').where(where).first('algorithm', 'key_id', 'key_json');
    if (current?.key_id === key.keyId && current.key_json === key.json) return;
    await trx('fallback_keys')
      .insert({ ...where, key_id: key.keyId, key_json: key.json, used: false })
      .onConflict(['user_id', 'device_id', 'algorithm'])
      .merge(['key_id', 'key_json', 'used']);
  }

  /** Hands out the device's fallback key of `algorithm`, marking it used; undefined if it has none. */
  async claimFallback(userId: string, deviceId: string, algorithm: string): Promise<ClaimedKey | undefined> {
    const rows: KeyRow[] = await this.db('fallback_keys')
      .where({ user_id: userId, device_id: deviceId, algorithm })
      .update({ used: true })
      .returning(['algorithm', 'key_id', 'key_json']);
    return rows.length === 0 ? undefined : claimed(rows[0]);
  }

  /** The algorithms of the device's fallback keys that no claim has handed out yet. */
  async unusedFallbackAlgorithms(userId: string, deviceId: string, db: Db = this.db): Promise<string[]> {
    const rows: { algorithm: string }[] = await db('fallback_keys')
      .where({ user_id: userId, device_id: deviceId, used: false })
      .orderBy('algorithm')
      .select('algorithm');
    return rows.map((r) => r.algorithm);
  }
}

/**
 * Devices' identity keys (POST /keys/upload's `device_keys`) and the
 * signatures their user's self-signing key made of them. Both go with the
 * device (foreign-key cascade).
 */
import { keyJson, sameSignedContent, withSignatures, type JsonObject } from '../spec/e2e-keys';
import type { Db } from './db';
import { listOf } from './transactions';

export interface DeviceKeysRow {
  userId: string;
  deviceId: string;
  /** As uploaded, with the signatures uploaded later merged in. */
  keys: JsonObject;
  displayName: string | null;
}

export interface DeviceKeySignature {
  userId: string;
  deviceId: string;
  signerKeyId: string;
  signature: string;
}

export class DeviceKeyStore {
  constructor(private readonly db: Db) {}

  /**
   * Stores a device's keys; returns whether they differ from those stored. When
   * what the keys sign changes, signatures made of the old keys are dropped.
   */
  async put(userId: string, deviceId: string, keys: JsonObject, trx: Db = this.db): Promise<boolean> {
    const json = keyJson(keys);
    const where = { user_id: userId, device_id: deviceId };
    const old: { key_json: string } | undefined = await trx('device_keys').where(where).first('key_json');
    if (old?.key_json === json) return false;
    if (old === undefined) {
      await trx('device_keys').insert({ ...where, key_json: json }).onConflict(['user_id', 'device_id']).merge(['key_json']);
      return true;
    }
    if (!sameSignedContent(JSON.parse(old.key_json), keys)) await trx('device_key_signatures').where(where).delete();
    await trx('device_keys').where(where).update({ key_json: json });
    return true;
  }

  /** A device's keys as uploaded (without signatures uploaded later). */
  async get(userId: string, deviceId: string, db: Db = this.db): Promise<JsonObject | undefined> {
    const row = await db('device_keys').where({ user_id: userId, device_id: deviceId }).first('key_json');
    return row === undefined ? undefined : JSON.parse(row.key_json);
  }

  /** Every device with keys of each user, with its display name and every signature of its keys. */
  async forUsers(userIds: readonly string[], db: Db = this.db): Promise<DeviceKeysRow[]> {
    if (userIds.length === 0) return [];
    const [rows, signatures] = await Promise.all([
      db('device_keys as k')
        .join('devices as d', function () {
          this.on('d.user_id', '=', 'k.user_id').andOn('d.device_id', '=', 'k.device_id');
        })
        .whereIn('k.user_id', listOf(db, userIds, 'text'))
        .select('k.user_id', 'k.device_id', 'k.key_json', 'd.display_name'),
      db('device_key_signatures').whereIn('user_id', listOf(db, userIds, 'text')).select('user_id', 'device_id', 'signer_key_id', 'signature'),
    ]);
    const extra = new Map<string, { signerUserId: string; signerKeyId: string; signature: string }[]>();
    for (const s of signatures as { user_id: string; device_id: string; signer_key_id: string; signature: string }[]) {
      const key = `${s.user_id}|${s.device_id}`;
      if (!extra.has(key)) extra.set(key, []);
      extra.get(key)!.push({ signerUserId: s.user_id, signerKeyId: s.signer_key_id, signature: s.signature });
    }
    return (rows as { user_id: string; device_id: string; key_json: string; display_name: string | null }[]).map((r) => ({
      userId: r.user_id,
      deviceId: r.device_id,
      keys: withSignatures(JSON.parse(r.key_json), extra.get(`${r.user_id}|${r.device_id}`) ?? []),
      displayName: r.display_name,
    }));
  }

  /** Adds (or replaces) signatures of devices' keys by their user's self-signing key. */
  async addSignatures(signatures: readonly DeviceKeySignature[], trx: Db = this.db): Promise<void> {
    if (signatures.length === 0) return;
    await trx('device_key_signatures')
      .insert(signatures.map((s) => ({ user_id: s.userId, device_id: s.deviceId, signer_key_id: s.signerKeyId, signature: s.signature })))
      .onConflict(['user_id', 'device_id', 'signer_key_id'])
      .merge(['signature']);
  }
}

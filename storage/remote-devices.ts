/**
 * Device lists across servers (migration 0015; docs/federation.md, "EDUs and
 * remote users' devices"): other servers' users' device lists as this server
 * caches them (devices with their identity keys, master and self-signing keys,
 * and where the cache stands in the user's sequence of m.device_list_update
 * EDUs), and the last update sent for each local user.
 */
import type { JsonObject } from '../spec/e2e-keys';
import type { Db } from './db';
import { listOf } from './transactions';

/** Stream IDs of applied updates kept per user: enough to recognise the prev_id of any update still in flight. */
const SEEN_KEPT = 50;

export interface RemoteDeviceList {
  userId: string;
  /** The stream_id of the last full fetch: every update up to it is in the cache. */
  snapshotStreamId: number;
  /** The stream_ids of the updates applied since that fetch, latest last. */
  seen: number[];
  /** An update was missed: the list must be fetched again before it is served. */
  stale: boolean;
  updatedTs: number;
}

export interface RemoteDevice {
  userId: string;
  deviceId: string;
  displayName: string | null;
  /** Null for a device without identity keys. */
  keys: JsonObject | null;
}

/** A remote user's master and self-signing keys (the only ones other servers see). */
export interface RemoteCrossSigningKeys {
  master?: JsonObject;
  self_signing?: JsonObject;
}

/** A whole device list as GET /user/devices answers it. */
export interface RemoteDeviceSnapshot {
  streamId: number;
  devices: Omit<RemoteDevice, 'userId'>[];
  crossSigning: RemoteCrossSigningKeys;
}

/** One m.device_list_update. */
export interface RemoteDeviceUpdate {
  streamId: number;
  deviceId: string;
  deleted: boolean;
  displayName: string | null;
  keys: JsonObject | null;
}

interface ListRaw {
  user_id: string;
  snapshot_stream_id: number | string;
  seen_json: string;
  stale: number | boolean;
  updated_ts: number | string;
}

const listFromRaw = (r: ListRaw): RemoteDeviceList => ({
  userId: r.user_id,
  snapshotStreamId: Number(r.snapshot_stream_id),
  seen: JSON.parse(r.seen_json),
  stale: Boolean(r.stale),
  updatedTs: Number(r.updated_ts),
});

export class RemoteDeviceStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async list(userId: string, db: Db = this.db): Promise<RemoteDeviceList | undefined> {
    const row: ListRaw | undefined = await db('remote_device_lists').where({ user_id: userId }).first();
    return row && listFromRaw(row);
  }

  async lists(userIds: readonly string[], db: Db = this.db): Promise<Map<string, RemoteDeviceList>> {
    if (userIds.length === 0) return new Map();
    const rows: ListRaw[] = await db('remote_device_lists').whereIn('user_id', listOf(db, userIds, 'text'));
    return new Map(rows.map((r) => [r.user_id, listFromRaw(r)]));
  }

  /** Replaces the user's cached list, devices and cross-signing keys with a full fetch; the list is fresh again. */
  async replace(userId: string, snapshot: RemoteDeviceSnapshot, trx: Db): Promise<void> {
    const list = { snapshot_stream_id: snapshot.streamId, seen_json: '[]', stale: false, updated_ts: this.now() };
    await trx('remote_device_lists').insert({ user_id: userId, ...list }).onConflict('user_id').merge(list);
    await trx('remote_devices').where({ user_id: userId }).delete();
    if (snapshot.devices.length > 0) {
      await trx('remote_devices').insert(
        snapshot.devices.map((d) => ({
          user_id: userId,
          device_id: d.deviceId,
          display_name: d.displayName,
          key_json: d.keys === null ? null : JSON.stringify(d.keys),
        })),
      );
    }
    await trx('remote_cross_signing_keys').where({ user_id: userId }).delete();
    await this.putCrossSigning(userId, snapshot.crossSigning, trx);
  }

  /** Applies one update to a cached list: the device replaced, or deleted; its stream_id recorded as seen. */
  async applyUpdate(list: RemoteDeviceList, update: RemoteDeviceUpdate, trx: Db): Promise<void> {
    const where = { user_id: list.userId, device_id: update.deviceId };
    if (update.deleted) {
      await trx('remote_devices').where(where).delete();
    } else {
      const row = { display_name: update.displayName, key_json: update.keys === null ? null : JSON.stringify(update.keys) };
      await trx('remote_devices').insert({ ...where, ...row }).onConflict(['user_id', 'device_id']).merge(row);
    }
    const seen = [...list.seen, update.streamId].slice(-SEEN_KEPT);
    await trx('remote_device_lists').where({ user_id: list.userId }).update({ seen_json: JSON.stringify(seen), updated_ts: this.now() });
  }

  /** Marks a cached list as missing updates (creating its row if the user had none). */
  async markStale(userId: string, trx: Db = this.db): Promise<void> {
    await trx('remote_device_lists')
      .insert({ user_id: userId, snapshot_stream_id: 0, seen_json: '[]', stale: true, updated_ts: this.now() })
      .onConflict('user_id')
      .merge({ stale: true, updated_ts: this.now() });
  }

  /** Drops the cached lists of these users (their devices and keys go with them). */
  async forget(userIds: readonly string[], db: Db = this.db): Promise<void> {
    if (userIds.length > 0) await db('remote_device_lists').whereIn('user_id', listOf(db, userIds, 'text')).delete();
  }

  /** The cached devices of these users. */
  async devices(userIds: readonly string[], db: Db = this.db): Promise<RemoteDevice[]> {
    if (userIds.length === 0) return [];
    const rows: { user_id: string; device_id: string; display_name: string | null; key_json: string | null }[] = await db('remote_devices')
      .whereIn('user_id', listOf(db, userIds, 'text'))
      .orderBy(['user_id', 'device_id'])
      .select('user_id', 'device_id', 'display_name', 'key_json');
    return rows.map((r) => ({
      userId: r.user_id,
      deviceId: r.device_id,
      displayName: r.display_name,
      keys: r.key_json === null ? null : JSON.parse(r.key_json),
    }));
  }

  /** The cached cross-signing keys of these users, for those that have any. */
  async crossSigning(userIds: readonly string[], db: Db = this.db): Promise<Map<string, RemoteCrossSigningKeys>> {
    const byUser = new Map<string, RemoteCrossSigningKeys>();
    if (userIds.length === 0) return byUser;
    const rows: { user_id: string; usage: 'master' | 'self_signing'; key_json: string }[] = await db('remote_cross_signing_keys')
      .whereIn('user_id', listOf(db, userIds, 'text'))
      .select('user_id', 'usage', 'key_json');
    for (const r of rows) {
      if (!byUser.has(r.user_id)) byUser.set(r.user_id, {});
      byUser.get(r.user_id)![r.usage] = JSON.parse(r.key_json);
    }
    return byUser;
  }

  /** Sets the user's master and/or self-signing key (a cached list's row must exist). */
  async putCrossSigning(userId: string, keys: RemoteCrossSigningKeys, trx: Db): Promise<void> {
    for (const usage of ['master', 'self_signing'] as const) {
      const key = keys[usage];
      if (key === undefined) continue;
      const publicKey = Object.values((key.keys ?? {}) as Record<string, unknown>)[0];
      const row = { public_key: typeof publicKey === 'string' ? publicKey : '', key_json: JSON.stringify(key) };
      await trx('remote_cross_signing_keys').insert({ user_id: userId, usage, ...row }).onConflict(['user_id', 'usage']).merge(row);
    }
  }

  /** The stream_id of the last m.device_list_update sent for a local user; 0 if none was. */
  async lastUpdateSent(userId: string, db: Db = this.db): Promise<number> {
    const row = await db('device_list_updates_sent').where({ user_id: userId }).first('stream_id');
    return row === undefined ? 0 : Number(row.stream_id);
  }

  async setLastUpdateSent(userId: string, streamId: number, db: Db = this.db): Promise<void> {
    await db('device_list_updates_sent').insert({ user_id: userId, stream_id: streamId }).onConflict('user_id').merge(['stream_id']);
  }
}

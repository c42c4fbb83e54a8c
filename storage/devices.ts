/** A user's devices (one per login session). */
import type { Db } from './db';

export interface DeviceRow {
  userId: string;
  deviceId: string;
  displayName: string | null;
  lastSeenIp: string | null;
  lastSeenTs: number | null;
  lastSeenUserAgent: string | null;
}

interface Raw {
  user_id: string;
  device_id: string;
  display_name: string | null;
  last_seen_ip: string | null;
  last_seen_ts: number | null;
  last_seen_user_agent: string | null;
}

const fromRaw = (r: Raw): DeviceRow => ({
  userId: r.user_id,
  deviceId: r.device_id,
  displayName: r.display_name,
  lastSeenIp: r.last_seen_ip,
  lastSeenTs: r.last_seen_ts === null ? null : Number(r.last_seen_ts),
  lastSeenUserAgent: r.last_seen_user_agent,
});

export class DeviceStore {
  constructor(
    private readonly db: Db,
    /** Deleting a device deletes its tokens (by cascade): resolved tokens must be forgotten. */
    private readonly tokensChanged: (trx: Db) => void = () => {},
  ) {}

  async list(userId: string, db: Db = this.db): Promise<DeviceRow[]> {
    return (await db<Raw>('devices').where({ user_id: userId }).orderBy('device_id')).map(fromRaw);
  }

  async get(userId: string, deviceId: string): Promise<DeviceRow | undefined> {
    const row = await this.db<Raw>('devices').where({ user_id: userId, device_id: deviceId }).first();
    return row && fromRaw(row);
  }

  /** Creates the device unless it exists (an existing device keeps its display name); returns whether it was created. */
  async createIfMissing(userId: string, deviceId: string, displayName: string | undefined, nowMs: number, trx: Db = this.db): Promise<boolean> {
    const created = await trx('devices')
      .insert({ user_id: userId, device_id: deviceId, display_name: displayName ?? null, created_ts: nowMs })
      .onConflict(['user_id', 'device_id'])
      .ignore()
      .returning('device_id');
    return created.length > 0;
  }

  async setDisplayName(userId: string, deviceId: string, displayName: string | null, trx: Db = this.db): Promise<boolean> {
    return (await trx('devices').where({ user_id: userId, device_id: deviceId }).update({ display_name: displayName })) > 0;
  }

  async touch(userId: string, deviceId: string, seen: { ip: string; ts: number; userAgent?: string }): Promise<void> {
    await this.db('devices')
      .where({ user_id: userId, device_id: deviceId })
      .update({ last_seen_ip: seen.ip, last_seen_ts: seen.ts, last_seen_user_agent: seen.userAgent?.slice(0, 512) ?? null });
  }

  /** Deletes devices and, by cascade, their access and refresh tokens and their keys; returns how many went. */
  async delete(userId: string, deviceIds: string[], trx: Db = this.db): Promise<number> {
    if (deviceIds.length === 0) return 0;
    this.tokensChanged(trx);
    return trx('devices').where({ user_id: userId }).whereIn('device_id', deviceIds).delete();
  }

  async deleteAll(userId: string, trx: Db = this.db): Promise<number> {
    this.tokensChanged(trx);
    return trx('devices').where({ user_id: userId }).delete();
  }
}

/** Pushers: each user's, identified by (user, app_id, pushkey). */
import type { PusherData, PusherSpec } from '../spec/push/pusher';
import type { Db } from './db';
import { listOf } from './transactions';

export interface Pusher {
  userId: string;
  kind: string;
  appId: string;
  pushkey: string;
  appDisplayName: string;
  deviceDisplayName: string;
  profileTag?: string;
  lang: string;
  data: PusherData;
  deviceId?: string;
  /** When the pushkey was last set, in milliseconds. */
  pushkeyTs: number;
}

interface Raw {
  user_id: string;
  kind: string;
  app_id: string;
  pushkey: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string | null;
  lang: string;
  data_json: string;
  device_id: string | null;
  pushkey_ts: number | string;
}

const fromRaw = (r: Raw): Pusher => ({
  userId: r.user_id,
  kind: r.kind,
  appId: r.app_id,
  pushkey: r.pushkey,
  appDisplayName: r.app_display_name,
  deviceDisplayName: r.device_display_name,
  ...(r.profile_tag === null ? {} : { profileTag: r.profile_tag }),
  lang: r.lang,
  data: JSON.parse(r.data_json),
  ...(r.device_id === null ? {} : { deviceId: r.device_id }),
  pushkeyTs: Number(r.pushkey_ts),
});

export class PusherStore {
  constructor(private readonly db: Db) {}

  /** Creates or replaces the user's pusher with this app_id and pushkey. */
  async set(trx: Db, userId: string, spec: PusherSpec, deviceId: string | undefined, now: number): Promise<void> {
    const row = {
      user_id: userId,
      kind: spec.kind,
      app_id: spec.app_id,
      pushkey: spec.pushkey,
      app_display_name: spec.app_display_name,
      device_display_name: spec.device_display_name,
      profile_tag: spec.profile_tag ?? null,
      lang: spec.lang,
      data_json: JSON.stringify(spec.data),
      device_id: deviceId ?? null,
      pushkey_ts: now,
    };
    const { user_id: _u, app_id: _a, pushkey: _p, ...changes } = row;
    await trx('pushers').insert(row).onConflict(['user_id', 'app_id', 'pushkey']).merge(changes);
  }

  /** Deletes the user's pusher; returns whether there was one. */
  async delete(userId: string, appId: string, pushkey: string, trx: Db = this.db): Promise<boolean> {
    return (await trx('pushers').where({ user_id: userId, app_id: appId, pushkey }).delete()) > 0;
  }

  /** Deletes the pushers with this app_id and pushkey of every user but `userId`; returns them. */
  async deleteOthers(trx: Db, appId: string, pushkey: string, userId: string): Promise<Pusher[]> {
    const rows: Raw[] = await trx('pushers').where({ app_id: appId, pushkey }).andWhereNot('user_id', userId).select('*');
    if (rows.length > 0) await trx('pushers').where({ app_id: appId, pushkey }).andWhereNot('user_id', userId).delete();
    return rows.map(fromRaw);
  }

  async of(userId: string): Promise<Pusher[]> {
    const rows: Raw[] = await this.db('pushers').where({ user_id: userId }).orderBy('id').select('*');
    return rows.map(fromRaw);
  }

  /** The http pushers of these users. */
  async httpPushersOf(userIds: readonly string[]): Promise<Pusher[]> {
    if (userIds.length === 0) return [];
    const rows: Raw[] = await this.db('pushers').where('kind', 'http').whereIn('user_id', listOf(this.db, userIds, 'text')).orderBy('id').select('*');
    return rows.map(fromRaw);
  }
}

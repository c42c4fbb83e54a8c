/**
 * Server-side key backups: each user's backup versions (numbered 1, 2, … and
 * never reused: a deleted version keeps its row) and the session keys stored
 * in them. A version's etag moves whenever its keys change.
 */
import type { KeyBackupData } from '../spec/schemas/keys';
import type { Db } from './db';
import { batches, isPostgresDb, listOf } from './transactions';

export interface BackupVersion {
  version: number;
  algorithm: string;
  authData: Record<string, unknown>;
  etag: number;
}

export interface BackedUpSession extends KeyBackupData {
  roomId: string;
  sessionId: string;
}

/** Which keys of a version a read or a deletion addresses: all, a room's, or one session's. */
export interface SessionScope {
  roomId?: string;
  sessionId?: string;
}

interface VersionRaw {
  version: number | string;
  algorithm: string;
  auth_data_json: string;
  etag: number | string;
}

interface SessionRaw {
  room_id: string;
  session_id: string;
  first_message_index: number | string;
  forwarded_count: number | string;
  is_verified: number | boolean;
  session_data_json: string;
}

const versionFromRaw = (r: VersionRaw): BackupVersion => ({
  version: Number(r.version),
  algorithm: r.algorithm,
  authData: JSON.parse(r.auth_data_json),
  etag: Number(r.etag),
});

const sessionFromRaw = (r: SessionRaw): BackedUpSession => ({
  roomId: r.room_id,
  sessionId: r.session_id,
  first_message_index: Number(r.first_message_index),
  forwarded_count: Number(r.forwarded_count),
  is_verified: Boolean(r.is_verified),
  session_data: JSON.parse(r.session_data_json),
});

const MAX_CREATE_ATTEMPTS = 5;

export class KeyBackupStore {
  constructor(private readonly db: Db) {}

  /** Creates the user's next version; returns its number. */
  async create(userId: string, algorithm: string, authData: Record<string, unknown>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const row = await this.db('key_backups').where({ user_id: userId }).max<{ max: number | string | null }[]>({ max: 'version' }).first();
      const version = Number(row?.max ?? 0) + 1;
      // A concurrent create may take the same number: then try the next one.
      const inserted = await this.db('key_backups')
        .insert({ user_id: userId, version, algorithm, auth_data_json: JSON.stringify(authData), etag: 0, deleted: false })
        .onConflict(['user_id', 'version'])
        .ignore()
        .returning('version');
      if (inserted.length > 0) return version;
      if (attempt === MAX_CREATE_ATTEMPTS) throw new Error('could not allocate a key backup version');
    }
  }

  /**
   * The user's current version: the latest one not deleted. With `lock` (inside
   * a transaction), other writers to the user's backups wait until it ends.
   */
  async current(userId: string, options: { trx?: Db; lock?: boolean } = {}): Promise<BackupVersion | undefined> {
    const db = options.trx ?? this.db;
    const query = db('key_backups')
      .where({ user_id: userId, deleted: false })
      .orderBy('version', 'desc')
      .first('version', 'algorithm', 'auth_data_json', 'etag');
    if (options.lock && isPostgresDb(db)) query.forUpdate();
    const row: VersionRaw | undefined = await query;
    return row && versionFromRaw(row);
  }

  /** A version that exists and is not deleted. */
  async get(userId: string, version: number, db: Db = this.db): Promise<BackupVersion | undefined> {
    const row: VersionRaw | undefined = await db('key_backups')
      .where({ user_id: userId, version, deleted: false })
      .first('version', 'algorithm', 'auth_data_json', 'etag');
    return row && versionFromRaw(row);
  }

  async updateAuthData(userId: string, version: number, authData: Record<string, unknown>): Promise<void> {
    await this.db('key_backups').where({ user_id: userId, version, deleted: false }).update({ auth_data_json: JSON.stringify(authData) });
  }

  /** Deletes a version and its keys; false if it never existed (deleting it again succeeds). */
  async delete(userId: string, version: number): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const updated = await trx('key_backups').where({ user_id: userId, version }).update({ deleted: true });
      if (updated === 0) return false;
      await trx('key_backup_sessions').where({ user_id: userId, version }).delete();
      return true;
    });
  }

  /** How many keys the version holds. */
  async count(userId: string, version: number, db: Db = this.db): Promise<number> {
    const row = await db('key_backup_sessions').where({ user_id: userId, version }).count<{ n: number | string }[]>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  async sessions(userId: string, version: number, scope: SessionScope = {}): Promise<BackedUpSession[]> {
    const rows: SessionRaw[] = await this.db('key_backup_sessions')
      .where({ user_id: userId, version, ...scopeColumns(scope) })
      .orderBy(['room_id', 'session_id'])
      .select('room_id', 'session_id', 'first_message_index', 'forwarded_count', 'is_verified', 'session_data_json');
    return rows.map(sessionFromRaw);
  }

  /** The stored keys of the given sessions of one room. */
  async existing(userId: string, version: number, roomId: string, sessionIds: readonly string[], trx: Db): Promise<Map<string, BackedUpSession>> {
    const found = new Map<string, BackedUpSession>();
    for (const batch of batches(sessionIds)) {
      const rows: SessionRaw[] = await trx('key_backup_sessions')
        .where({ user_id: userId, version, room_id: roomId })
        .whereIn('session_id', listOf(trx, batch, 'text'))
        .select('room_id', 'session_id', 'first_message_index', 'forwarded_count', 'is_verified', 'session_data_json');
      for (const r of rows) found.set(r.session_id, sessionFromRaw(r));
    }
    return found;
  }

  /** Stores keys, replacing those stored for the same sessions. */
  async put(userId: string, version: number, sessions: readonly BackedUpSession[], trx: Db): Promise<void> {
    for (const batch of batches(sessions, 500)) {
      await trx('key_backup_sessions')
        .insert(batch.map((s) => ({
          user_id: userId,
          version,
          room_id: s.roomId,
          session_id: s.sessionId,
          first_message_index: s.first_message_index,
          forwarded_count: s.forwarded_count,
          is_verified: s.is_verified,
          session_data_json: JSON.stringify(s.session_data),
        })))
        .onConflict(['user_id', 'version', 'room_id', 'session_id'])
        .merge(['first_message_index', 'forwarded_count', 'is_verified', 'session_data_json']);
    }
  }

  /** Deletes the keys in `scope`; returns how many went. */
  async deleteSessions(userId: string, version: number, scope: SessionScope, trx: Db): Promise<number> {
    return trx('key_backup_sessions').where({ user_id: userId, version, ...scopeColumns(scope) }).delete();
  }

  /** Moves the version's etag on; returns the new one. */
  async bumpEtag(userId: string, version: number, trx: Db): Promise<number> {
    const [row] = await trx('key_backups').where({ user_id: userId, version }).increment('etag', 1).returning('etag');
    return Number(row.etag);
  }
}

function scopeColumns(scope: SessionScope): Record<string, string> {
  return {
    ...(scope.roomId !== undefined && { room_id: scope.roomId }),
    ...(scope.sessionId !== undefined && { session_id: scope.sessionId }),
  };
}

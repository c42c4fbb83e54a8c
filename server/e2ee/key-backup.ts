/**
 * Server-side key backups (end_to_end_encryption.md, "Server-side key
 * backups"; key_backup.yaml). Keys may only be written to the current
 * version (the latest not deleted); when a session's key is uploaded again,
 * the spec's rule decides which copy stays. Writes to one user's backup take
 * turns (a row lock on the current version), so the etag moves once per change.
 */
import { invalidParam, MatrixError, notFound } from '../../spec/errors';
import { isValidRoomId } from '../../spec/identifiers';
import { replacesBackedUpKey } from '../../spec/key-backup';
import type { CreateBackupBody, KeyBackupData, UpdateBackupBody } from '../../spec/schemas/keys';
import type { Stores } from '../../storage';
import type { BackedUpSession, BackupVersion, SessionScope } from '../../storage/key-backup';

export interface BackupInfo {
  algorithm: string;
  auth_data: Record<string, unknown>;
  count: number;
  etag: string;
  version: string;
}

/** RoomKeysUpdateResponse */
export interface BackupUpdate {
  etag: string;
  count: number;
}

/** Room ID → session ID → key. */
export type RoomKeys = Record<string, Record<string, KeyBackupData>>;

const unknownVersion = () => notFound('Unknown backup version');

/** A version number as the API writes it; undefined for a string no version can have. */
function versionNumber(version: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(version) && Number.isSafeInteger(Number(version)) ? Number(version) : undefined;
}

export class KeyBackups {
  constructor(private readonly stores: Stores) {}

  async create(userId: string, body: CreateBackupBody): Promise<{ version: string }> {
    return { version: String(await this.stores.keyBackups.create(userId, body.algorithm, body.auth_data)) };
  }

  /** The current version's information, or the named version's; 404 M_NOT_FOUND if there is none. */
  async info(userId: string, version?: string): Promise<BackupInfo> {
    const backup = version === undefined ? await this.stores.keyBackups.current(userId) : await this.find(userId, version);
    if (!backup) throw notFound(version === undefined ? 'No current backup version' : 'Unknown backup version');
    return {
      algorithm: backup.algorithm,
      auth_data: backup.authData,
      count: await this.stores.keyBackups.count(userId, backup.version),
      etag: String(backup.etag),
      version: String(backup.version),
    };
  }

  /** Replaces a version's auth_data; its algorithm cannot change. */
  async update(userId: string, version: string, body: UpdateBackupBody): Promise<void> {
    if (body.version !== undefined && body.version !== version) throw invalidParam('The version in the body does not match the version in the path');
    const backup = await this.find(userId, version);
    if (!backup) throw unknownVersion();
    if (body.algorithm !== backup.algorithm) throw invalidParam('The algorithm does not match the backup version\'s');
    await this.stores.keyBackups.updateAuthData(userId, backup.version, body.auth_data);
  }

  /** Deletes a version and its keys; deleting a deleted version again succeeds. */
  async delete(userId: string, version: string): Promise<void> {
    const number = versionNumber(version);
    if (number === undefined || !(await this.stores.keyBackups.delete(userId, number))) throw unknownVersion();
  }

  /** The keys of a version in `scope`. */
  async keys(userId: string, version: string, scope: SessionScope = {}): Promise<BackedUpSession[]> {
    const backup = await this.find(userId, version);
    if (!backup) throw unknownVersion();
    return this.stores.keyBackups.sessions(userId, backup.version, checkScope(scope));
  }

  /** Stores keys in the current version, keeping the better of two keys for one session. */
  async put(userId: string, version: string, rooms: RoomKeys): Promise<BackupUpdate> {
    for (const roomId of Object.keys(rooms)) checkScope({ roomId });
    return this.stores.db.transaction(async (trx) => {
      const current = await this.stores.keyBackups.current(userId, { trx, lock: true });
      if (!current) throw unknownVersion();
      if (String(current.version) !== version) {
        throw new MatrixError(403, 'M_WRONG_ROOM_KEYS_VERSION', 'Wrong backup version', { current_version: String(current.version) });
      }
      const kept: BackedUpSession[] = [];
      for (const [roomId, sessions] of Object.entries(rooms)) {
        const stored = await this.stores.keyBackups.existing(userId, current.version, roomId, Object.keys(sessions), trx);
        for (const [sessionId, key] of Object.entries(sessions)) {
          const old = stored.get(sessionId);
          if (old === undefined || replacesBackedUpKey(old, key)) kept.push({ roomId, sessionId, ...key });
        }
      }
      await this.stores.keyBackups.put(userId, current.version, kept, trx);
      const etag = kept.length > 0 ? await this.stores.keyBackups.bumpEtag(userId, current.version, trx) : current.etag;
      return { etag: String(etag), count: await this.stores.keyBackups.count(userId, current.version, trx) };
    });
  }

  /** Deletes the keys of a version in `scope`. */
  async deleteKeys(userId: string, version: string, scope: SessionScope): Promise<BackupUpdate> {
    checkScope(scope);
    const number = versionNumber(version);
    if (number === undefined) throw unknownVersion();
    return this.stores.db.transaction(async (trx) => {
      const backup = await this.stores.keyBackups.get(userId, number, trx);
      if (!backup) throw unknownVersion();
      const deleted = await this.stores.keyBackups.deleteSessions(userId, number, scope, trx);
      const etag = deleted > 0 ? await this.stores.keyBackups.bumpEtag(userId, number, trx) : backup.etag;
      return { etag: String(etag), count: await this.stores.keyBackups.count(userId, number, trx) };
    });
  }

  private async find(userId: string, version: string): Promise<BackupVersion | undefined> {
    const number = versionNumber(version);
    return number === undefined ? undefined : this.stores.keyBackups.get(userId, number);
  }
}

function checkScope(scope: SessionScope): SessionScope {
  if (scope.roomId !== undefined && !isValidRoomId(scope.roomId)) throw invalidParam(`'${scope.roomId.slice(0, 255)}' is not a valid room ID`);
  return scope;
}

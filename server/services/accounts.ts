/**
 * Accounts: creating them, signing devices in, passwords and deactivation. The
 * parts /register, /login, /account/*, the admin API and the CLI share.
 */
import { randomBytes } from 'node:crypto';
import { MatrixError } from '../../spec/errors';
import { isValidLocalpart, MAX_ID_BYTES, parseUserId, userId as makeUserId, userIdLength } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { Config } from '../config/schema';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords';
import type { IssuedSession, Sessions } from './sessions';

/** A password already hashed, e.g. one kept in a UIA session instead of its plain text. */
export interface PasswordHash {
  hash: string;
}

export interface NewAccount {
  localpart: string;
  /** null: an account that cannot log in with a password (guests, or password-less). */
  password: string | null | PasswordHash;
  admin?: boolean;
  guest?: boolean;
  /** The initial displayname; the localpart when not given, as Synapse does. */
  displayName?: string;
  /** Whether a plain password must meet the password policy (default true; the admin API skips it, as Synapse's does). */
  checkPolicy?: boolean;
}

export interface LoginResult extends IssuedSession {
  user_id: string;
  device_id: string;
}

export const newDeviceId = () => randomBytes(6).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, 'X');

/** Told, inside the transaction, that some of a user's devices were added, deleted or renamed (a device list change, docs/e2ee.md). */
export type DevicesChangedHook = (userId: string, deviceIds: readonly string[], trx: Db) => Promise<void>;

export class Accounts {
  private devicesChanged: DevicesChangedHook = async () => {};

  constructor(
    private readonly stores: Stores,
    private readonly sessions: Sessions,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {}

  onDevicesChanged(hook: DevicesChangedHook): void {
    this.devicesChanged = hook;
  }

  /** The user ID a requested username maps to: lower-cased, on this server. */
  userIdFor(username: string): string {
    return makeUserId(username.toLowerCase(), this.config.server_name);
  }

  /**
   * The local user a login or a UIA password stage names: a localpart or a full
   * user ID on this server, lower-cased; null for another server's user ID.
   */
  localUserId(user: string): string | null {
    if (!user.startsWith('@')) return this.userIdFor(user);
    const parsed = parseUserId(user);
    if (!parsed || parsed.serverName !== this.config.server_name) return null;
    return this.userIdFor(parsed.localpart);
  }

  /** Throws M_INVALID_USERNAME unless `localpart` may name a new user here. */
  checkLocalpart(localpart: string): string {
    const userId = makeUserId(localpart, this.config.server_name);
    if (!isValidLocalpart(localpart)) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may only contain a-z, 0-9, and . _ = - / +');
    }
    if (userIdLength(userId) > MAX_ID_BYTES) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', `User ID may not be longer than ${MAX_ID_BYTES} bytes`);
    }
    return userId;
  }

  /**
   * The user ID a requested username (lower-cased) gives, if valid and free; else
   * throws M_INVALID_USERNAME or M_USER_IN_USE. `mayTake` is an existing ID the
   * caller may have anyway (the account its own UIA session already registered).
   */
  async availableUserId(username: string, mayTake?: string): Promise<string> {
    const userId = this.checkLocalpart(username.toLowerCase());
    if (userId !== mayTake && (await this.stores.users.exists(userId))) throw userInUse();
    return userId;
  }

  /** Throws M_WEAK_PASSWORD if `password` breaks the configured policy. */
  checkPasswordPolicy(password: string): void {
    checkPasswordPolicy(password, this.config.registration.password_policy);
  }

  hashPassword(password: string): Promise<string> {
    return hashPassword(password, this.config.auth.password_hash_cost);
  }

  /**
   * Creates an account with its default displayname; throws M_INVALID_USERNAME,
   * M_USER_IN_USE or M_WEAK_PASSWORD.
   */
  async create(account: NewAccount): Promise<string> {
    const userId = this.checkLocalpart(account.localpart);
    if (typeof account.password === 'string' && account.checkPolicy !== false) this.checkPasswordPolicy(account.password);
    if (await this.stores.users.exists(userId)) throw userInUse();
    const passwordHash = await this.hashOf(account.password);
    const inserted = await this.stores.db.transaction(async (trx) => {
      const fresh = await this.stores.users.insert(
        { userId, passwordHash, isAdmin: account.admin ?? false, isGuest: account.guest ?? false, createdTs: this.now() },
        trx,
      );
      if (fresh) await this.stores.profiles.setField(userId, 'displayname', account.displayName ?? account.localpart, trx);
      return fresh;
    });
    if (!inserted) throw userInUse();
    return userId;
  }

  /** A guest account under a fresh numeric localpart, as Synapse does. */
  createGuest(): Promise<string> {
    return this.createWithGeneratedLocalpart({ password: null, guest: true });
  }

  /** Creates an account under a fresh numeric localpart (guests, and registrations that give no username). */
  async createWithGeneratedLocalpart(account: Omit<NewAccount, 'localpart'>): Promise<string> {
    for (;;) {
      const localpart = String((await this.stores.users.count()) + 1 + Math.floor(Math.random() * 1000));
      try {
        return await this.create({ ...account, localpart });
      } catch (err) {
        if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE')) throw err;
      }
    }
  }

  /** Whether `password` is the password of the active account `userId`. */
  async checkPassword(userId: string, password: string): Promise<boolean> {
    const user = await this.stores.users.get(userId);
    if (!user || user.deactivated) return false;
    return verifyPassword(password, user.passwordHash);
  }

  /**
   * Sets a new password (a plain one must meet the policy). With `logoutDevices`,
   * every device but `keep`'s is deleted, and every token but `keep`'s access
   * token (and its device's refresh tokens) is revoked.
   */
  async changePassword(
    userId: string,
    password: string | PasswordHash,
    options: { logoutDevices: boolean; keep?: { deviceId: string; accessTokenId: number } },
  ): Promise<void> {
    if (typeof password === 'string') this.checkPasswordPolicy(password);
    const passwordHash = await this.hashOf(password);
    const others = options.logoutDevices
      ? (await this.stores.devices.list(userId)).map((d) => d.deviceId).filter((id) => id !== options.keep?.deviceId)
      : [];
    await this.stores.db.transaction(async (trx) => {
      await this.stores.users.setPasswordHash(userId, passwordHash, trx);
      if (!options.logoutDevices) return;
      if ((await this.stores.devices.delete(userId, others, trx)) > 0) await this.devicesChanged(userId, others, trx);
      // Also catches tokens of a device signed in since the list was read.
      await this.stores.tokens.deleteForUser(userId, options.keep, trx);
    });
  }

  /**
   * Deactivates an account for good: its password, devices (so every token) and
   * profile go at once. The user ID stays taken.
   */
  async deactivate(userId: string): Promise<void> {
    await this.stores.db.transaction(async (trx) => {
      await this.stores.users.markDeactivated(userId, trx);
      const devices = (await this.stores.devices.list(userId, trx)).map((d) => d.deviceId);
      if ((await this.stores.devices.deleteAll(userId, trx)) > 0) await this.devicesChanged(userId, devices, trx);
      await this.stores.profiles.clear(userId, trx);
      await this.stores.accountData.deleteAll(userId, trx);
    });
  }

  /** Signs devices out for good (logout, device deletion): their tokens and keys go with them. */
  async deleteDevices(userId: string, deviceIds: readonly string[] | 'all'): Promise<void> {
    await this.stores.db.transaction(async (trx) => {
      const ids = deviceIds === 'all' ? (await this.stores.devices.list(userId, trx)).map((d) => d.deviceId) : [...deviceIds];
      const deleted = deviceIds === 'all' ? await this.stores.devices.deleteAll(userId, trx) : await this.stores.devices.delete(userId, ids, trx);
      if (deleted > 0) await this.devicesChanged(userId, ids, trx);
    });
  }

  /** Renames a device; false if the user has no such device. */
  async renameDevice(userId: string, deviceId: string, displayName: string | null): Promise<boolean> {
    return this.stores.db.transaction(async (trx) => {
      const renamed = await this.stores.devices.setDisplayName(userId, deviceId, displayName, trx);
      if (renamed) await this.devicesChanged(userId, [deviceId], trx);
      return renamed;
    });
  }

  /**
   * Signs a device in: creates it (or reuses the named one, revoking its old
   * tokens) and mints tokens for it.
   */
  async startSession(
    userId: string,
    device: { deviceId?: string; displayName?: string; refreshable?: boolean },
  ): Promise<LoginResult> {
    const deviceId = device.deviceId ?? newDeviceId();
    return this.stores.db.transaction(async (trx) => {
      if (await this.stores.devices.createIfMissing(userId, deviceId, device.displayName, this.now(), trx)) await this.devicesChanged(userId, [deviceId], trx);
      const session = await this.sessions.issue(userId, deviceId, device.refreshable ?? false, trx);
      return { user_id: userId, device_id: deviceId, ...session };
    });
  }

  private async hashOf(password: string | null | PasswordHash): Promise<string | null> {
    if (password === null) return null;
    return typeof password === 'string' ? this.hashPassword(password) : password.hash;
  }
}

const userInUse = () => new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken');

/** Creating accounts and signing devices in: the parts /register, /login and the CLI share. */
import { randomBytes } from 'node:crypto';
import { MatrixError } from '../../spec/errors';
import { isValidLocalpart, MAX_USER_ID_BYTES, userId as makeUserId, userIdLength } from '../../spec/identifiers';
import type { Db } from '../../storage/db';
import type { DeviceStore } from '../../storage/devices';
import type { UserStore } from '../../storage/users';
import type { Config } from '../config/schema';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords';
import type { IssuedSession, Sessions } from './sessions';

export interface NewAccount {
  localpart: string;
  /** null: an account that cannot log in with a password (guests, or password-less). */
  password: string | null;
  admin?: boolean;
  guest?: boolean;
}

export interface LoginResult extends IssuedSession {
  user_id: string;
  device_id: string;
}

export const newDeviceId = () => randomBytes(6).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, 'X');

export class Accounts {
  constructor(
    private readonly db: Db,
    private readonly users: UserStore,
    private readonly devices: DeviceStore,
    private readonly sessions: Sessions,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {}

  /** The user ID a requested username maps to: lower-cased, on this server. */
  userIdFor(username: string): string {
    return makeUserId(username.toLowerCase(), this.config.server_name);
  }

  /** Throws M_INVALID_USERNAME unless `localpart` may name a new user here. */
  checkLocalpart(localpart: string): string {
    const userId = makeUserId(localpart, this.config.server_name);
    if (!isValidLocalpart(localpart)) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID may only contain a-z, 0-9, and . _ = - / +');
    }
    if (userIdLength(userId) > MAX_USER_ID_BYTES) {
      throw new MatrixError(400, 'M_INVALID_USERNAME', `User ID may not be longer than ${MAX_USER_ID_BYTES} bytes`);
    }
    return userId;
  }

  /** Creates an account; throws M_INVALID_USERNAME, M_USER_IN_USE or M_WEAK_PASSWORD. */
  async create(account: NewAccount): Promise<string> {
    const userId = this.checkLocalpart(account.localpart);
    if (account.password !== null) checkPasswordPolicy(account.password, this.config.registration.password_policy);
    if (await this.users.exists(userId)) throw userInUse();
    const passwordHash = account.password === null ? null : await hashPassword(account.password, this.config.auth.password_hash_cost);
    const inserted = await this.users.insert({
      userId,
      passwordHash,
      isAdmin: account.admin ?? false,
      isGuest: account.guest ?? false,
      createdTs: this.now(),
    });
    if (!inserted) throw userInUse();
    return userId;
  }

  /** A fresh numeric localpart for a guest, as Synapse does. */
  async createGuest(): Promise<string> {
    for (;;) {
      const localpart = String((await this.users.count()) + 1 + Math.floor(Math.random() * 1000));
      try {
        return await this.create({ localpart, password: null, guest: true });
      } catch (err) {
        if (!(err instanceof MatrixError && err.errcode === 'M_USER_IN_USE')) throw err;
      }
    }
  }

  /** Whether `password` is the password of the active account `userId`. */
  async checkPassword(userId: string, password: string): Promise<boolean> {
    const user = await this.users.get(userId);
    if (!user || user.deactivated) return false;
    return verifyPassword(password, user.passwordHash);
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
    return this.db.transaction(async (trx) => {
      await this.devices.createIfMissing(userId, deviceId, device.displayName, this.now(), trx);
      const session = await this.sessions.issue(userId, deviceId, device.refreshable ?? false, trx);
      return { user_id: userId, device_id: deviceId, ...session };
    });
  }
}

const userInUse = () => new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken');

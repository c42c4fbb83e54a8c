/** Local user accounts. */
import type { Db } from './db';

export interface UserRow {
  userId: string;
  passwordHash: string | null;
  isAdmin: boolean;
  isGuest: boolean;
  deactivated: boolean;
  createdTs: number;
}

interface Raw {
  user_id: string;
  password_hash: string | null;
  is_admin: number | boolean;
  is_guest: number | boolean;
  deactivated: number | boolean;
  created_ts: number;
}

const fromRaw = (r: Raw): UserRow => ({
  userId: r.user_id,
  passwordHash: r.password_hash,
  isAdmin: Boolean(r.is_admin),
  isGuest: Boolean(r.is_guest),
  deactivated: Boolean(r.deactivated),
  createdTs: Number(r.created_ts),
});

export class UserStore {
  constructor(
    private readonly db: Db,
    /** A token resolves to its user's admin and deactivated flags: changing them must forget resolved tokens. */
    private readonly tokensChanged: (trx: Db) => void = () => {},
  ) {}

  async get(userId: string): Promise<UserRow | undefined> {
    const row = await this.db<Raw>('users').where({ user_id: userId }).first();
    return row && fromRaw(row);
  }

  /** Inserts a user; returns false if the ID is taken. */
  async insert(user: Omit<UserRow, 'deactivated'>, trx: Db = this.db): Promise<boolean> {
    const inserted = await trx('users')
      .insert({
        user_id: user.userId,
        password_hash: user.passwordHash,
        is_admin: user.isAdmin,
        is_guest: user.isGuest,
        deactivated: false,
        created_ts: user.createdTs,
      })
      .onConflict('user_id')
      .ignore()
      .returning('user_id');
    return inserted.length > 0;
  }

  async exists(userId: string): Promise<boolean> {
    return (await this.db('users').where({ user_id: userId }).first('user_id')) !== undefined;
  }

  async setPasswordHash(userId: string, passwordHash: string | null, trx: Db = this.db): Promise<void> {
    await trx('users').where({ user_id: userId }).update({ password_hash: passwordHash });
  }

  async setAdmin(userId: string, isAdmin: boolean): Promise<void> {
    await this.db('users').where({ user_id: userId }).update({ is_admin: isAdmin });
    this.tokensChanged(this.db);
  }

  async markDeactivated(userId: string, trx: Db = this.db): Promise<void> {
    this.tokensChanged(trx);
    await trx('users').where({ user_id: userId }).update({ deactivated: true, password_hash: null });
  }

  /** The number of guest accounts so far, used to number the next one. */
  async count(): Promise<number> {
    const row = await this.db('users').count<{ n: number | string }[]>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }
}

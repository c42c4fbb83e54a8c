/**
 * Access and refresh tokens, stored only as SHA-256 hashes. Resolving an
 * access token is the first thing every request does, so resolved tokens are
 * kept; any change that could revoke or alter one (a token deleted here, or
 * by cascade from its device, a user deactivated or made admin) forgets them
 * all (`forgetResolved`), and a kept one is read again after a minute anyway.
 */
import type { Db } from './db';
import { whenSettled } from './transactions';

/** How long a resolved token is kept without being read again. */
const RESOLVED_TTL_MS = 60_000;
const RESOLVED_TOKENS = 50_000;

export interface AccessTokenInfo {
  id: number;
  userId: string;
  deviceId: string;
  expiresTs: number | null;
  refreshTokenId: number | null;
  used: boolean;
  isGuest: boolean;
  isAdmin: boolean;
  deactivated: boolean;
  lastSeenTs: number | null;
}

export interface RefreshTokenInfo {
  id: number;
  userId: string;
  deviceId: string;
  expiresTs: number | null;
}

export class TokenStore {
  private readonly resolved = new Map<string, { info: AccessTokenInfo; at: number }>();
  /** Bumped by every forgetting: lookups that straddle one are not kept. */
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Forgets every resolved token, now and once `trx` ends (call with any write that may revoke or change one). */
  forgetResolved(trx?: Db): void {
    const forget = () => {
      this.generation++;
      this.resolved.clear();
    };
    forget();
    if (trx) whenSettled(trx, forget, forget);
  }

  /** Records that the token's device was seen now, in the kept copy too. */
  seen(hash: string, ts: number): void {
    const kept = this.resolved.get(hash);
    if (kept) kept.info = { ...kept.info, lastSeenTs: ts };
  }

  async insertAccess(
    token: { hash: string; userId: string; deviceId: string; createdTs: number; expiresTs: number | null; refreshTokenId: number | null },
    trx: Db = this.db,
  ): Promise<number> {
    const [row] = await trx('access_tokens')
      .insert({
        token_hash: token.hash,
        user_id: token.userId,
        device_id: token.deviceId,
        created_ts: token.createdTs,
        expires_ts: token.expiresTs,
        refresh_token_id: token.refreshTokenId,
        used: false,
      })
      .returning('id');
    return Number(typeof row === 'object' ? row.id : row);
  }

  async insertRefresh(token: { hash: string; userId: string; deviceId: string; expiresTs: number | null }, trx: Db = this.db): Promise<number> {
    const [row] = await trx('refresh_tokens')
      .insert({ token_hash: token.hash, user_id: token.userId, device_id: token.deviceId, expires_ts: token.expiresTs })
      .returning('id');
    return Number(typeof row === 'object' ? row.id : row);
  }

  async findAccess(hash: string): Promise<AccessTokenInfo | undefined> {
    const kept = this.resolved.get(hash);
    if (kept && this.now() - kept.at < RESOLVED_TTL_MS) return kept.info;
    const generation = this.generation;
    const info = await this.readAccess(hash);
    if (info && generation === this.generation) {
      this.resolved.delete(hash);
      this.resolved.set(hash, { info, at: this.now() });
      if (this.resolved.size > RESOLVED_TOKENS) this.resolved.delete(this.resolved.keys().next().value!);
    }
    return info;
  }

  private async readAccess(hash: string): Promise<AccessTokenInfo | undefined> {
    const row = await this.db('access_tokens as t')
      .join('users as u', 'u.user_id', 't.user_id')
      .join('devices as d', function () {
        this.on('d.user_id', 't.user_id').andOn('d.device_id', 't.device_id');
      })
      .where('t.token_hash', hash)
      .first(
        't.id', 't.user_id', 't.device_id', 't.expires_ts', 't.refresh_token_id', 't.used',
        'u.is_guest', 'u.is_admin', 'u.deactivated', 'd.last_seen_ts',
      );
    if (!row) return undefined;
    return {
      id: Number(row.id),
      userId: row.user_id,
      deviceId: row.device_id,
      expiresTs: row.expires_ts === null ? null : Number(row.expires_ts),
      refreshTokenId: row.refresh_token_id === null ? null : Number(row.refresh_token_id),
      used: Boolean(row.used),
      isGuest: Boolean(row.is_guest),
      isAdmin: Boolean(row.is_admin),
      deactivated: Boolean(row.deactivated),
      lastSeenTs: row.last_seen_ts === null ? null : Number(row.last_seen_ts),
    };
  }

  async findRefresh(hash: string): Promise<RefreshTokenInfo | undefined> {
    const row = await this.db('refresh_tokens').where({ token_hash: hash }).first();
    if (!row) return undefined;
    return { id: Number(row.id), userId: row.user_id, deviceId: row.device_id, expiresTs: row.expires_ts === null ? null : Number(row.expires_ts) };
  }

  /**
   * First use of an access token minted by a refresh: the refresh token it replaced
   * (and, by cascade, that one's access tokens) dies now.
   */
  async markAccessUsed(id: number, refreshTokenId: number | null): Promise<void> {
    await this.db.transaction(async (trx) => {
      this.forgetResolved(trx);
      await trx('access_tokens').where({ id }).update({ used: true });
      if (refreshTokenId !== null) await trx('refresh_tokens').where({ next_id: refreshTokenId }).delete();
    });
  }

  /** Records that `id` was replaced by `nextId`, and retires whatever `id` itself replaced. */
  async chainRefresh(id: number, nextId: number, trx: Db = this.db): Promise<void> {
    this.forgetResolved(trx);
    await trx('refresh_tokens').where({ next_id: id }).delete();
    await trx('refresh_tokens').where({ id }).update({ next_id: nextId });
  }

  async deleteAccess(id: number): Promise<void> {
    await this.db('access_tokens').where({ id }).delete();
    this.forgetResolved();
  }

  /** Removes every token of a device, e.g. when a login reuses its device ID. */
  async deleteForDevice(userId: string, deviceId: string, trx: Db = this.db): Promise<void> {
    this.forgetResolved(trx);
    await trx('access_tokens').where({ user_id: userId, device_id: deviceId }).delete();
    await trx('refresh_tokens').where({ user_id: userId, device_id: deviceId }).delete();
  }

  /** Removes every token of a user except, optionally, one access token (and its device's refresh tokens). */
  async deleteForUser(userId: string, keep?: { accessTokenId: number; deviceId: string }, trx: Db = this.db): Promise<void> {
    this.forgetResolved(trx);
    const access = trx('access_tokens').where({ user_id: userId });
    const refresh = trx('refresh_tokens').where({ user_id: userId });
    if (keep) {
      await access.whereNot({ id: keep.accessTokenId }).delete();
      await refresh.whereNot({ device_id: keep.deviceId }).delete();
    } else {
      await access.delete();
      await refresh.delete();
    }
  }
}

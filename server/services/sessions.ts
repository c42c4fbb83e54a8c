/**
 * Access and refresh tokens: minting them for a device, resolving a token to its
 * user, refreshing, and revoking. Tokens are 256 random bits; only their SHA-256
 * is stored, so a database leak yields no usable token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MatrixError } from '../../spec/errors';
import type { Db } from '../../storage/db';
import type { DeviceStore } from '../../storage/devices';
import type { TokenStore } from '../../storage/tokens';
import type { Config } from '../config/schema';
import type { Requester } from '../http/route';

export interface IssuedSession {
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

/** How often a device's last_seen_ip / last_seen_ts are written back. */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

const newToken = (prefix: string) => prefix + randomBytes(32).toString('base64url');
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

const unknownToken = (softLogout: boolean, why = 'Unknown access token') =>
  new MatrixError(401, 'M_UNKNOWN_TOKEN', why, { soft_logout: softLogout });

export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly tokens: TokenStore,
    private readonly devices: DeviceStore,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Mints tokens for an existing device. Any tokens the device already had are
   * revoked first, as the spec requires when a client names its device ID.
   */
  async issue(userId: string, deviceId: string, refreshable: boolean, trx: Db = this.db): Promise<IssuedSession> {
    await this.tokens.deleteForDevice(userId, deviceId, trx);
    return (await this.mint(userId, deviceId, refreshable, trx)).session;
  }

  private async mint(
    userId: string, deviceId: string, refreshable: boolean, trx: Db,
  ): Promise<{ session: IssuedSession; refreshTokenId?: number }> {
    const now = this.now();
    const accessToken = newToken('wft_');
    if (!refreshable) {
      await this.tokens.insertAccess({ hash: hashToken(accessToken), userId, deviceId, createdTs: now, expiresTs: null, refreshTokenId: null }, trx);
      return { session: { access_token: accessToken } };
    }
    const refreshToken = newToken('wfr_');
    const lifetime = this.config.auth.refreshable_access_token_lifetime_ms;
    const refreshLifetime = this.config.auth.refresh_token_lifetime_ms;
    const refreshTokenId = await this.tokens.insertRefresh(
      { hash: hashToken(refreshToken), userId, deviceId, expiresTs: refreshLifetime === null ? null : now + refreshLifetime },
      trx,
    );
    await this.tokens.insertAccess(
      { hash: hashToken(accessToken), userId, deviceId, createdTs: now, expiresTs: now + lifetime, refreshTokenId },
      trx,
    );
    return { session: { access_token: accessToken, refresh_token: refreshToken, expires_in_ms: lifetime }, refreshTokenId };
  }

  /** Resolves an access token, or throws 401 M_UNKNOWN_TOKEN (soft_logout when it merely expired). */
  async authenticate(token: string, client: { ip: string; userAgent?: string }): Promise<Requester> {
    const hash = hashToken(token);
    const info = await this.tokens.findAccess(hash);
    if (!info || info.deactivated) throw unknownToken(false);
    const now = this.now();
    if (info.expiresTs !== null && info.expiresTs <= now) throw unknownToken(true, 'Access token has expired');
    if (!info.used && info.refreshTokenId !== null) await this.tokens.markAccessUsed(info.id, info.refreshTokenId);
    if (info.lastSeenTs === null || now - info.lastSeenTs >= LAST_SEEN_WRITE_INTERVAL_MS) {
      await this.devices.touch(info.userId, info.deviceId, { ip: client.ip, ts: now, userAgent: client.userAgent });
      this.tokens.seen(hash, now);
    }
    return { userId: info.userId, deviceId: info.deviceId, isGuest: info.isGuest, isAdmin: info.isAdmin, accessTokenId: info.id };
  }

  /**
   * Exchanges a refresh token for a new access token and refresh token. The old
   * refresh token keeps working until the new pair is first used.
   */
  async refresh(refreshToken: string): Promise<Required<IssuedSession>> {
    const info = await this.tokens.findRefresh(hashToken(refreshToken));
    if (!info) throw unknownToken(false, 'Unknown refresh token');
    if (info.expiresTs !== null && info.expiresTs <= this.now()) throw unknownToken(true, 'Refresh token has expired');
    return this.db.transaction(async (trx) => {
      const { session, refreshTokenId } = await this.mint(info.userId, info.deviceId, true, trx);
      await this.tokens.chainRefresh(info.id, refreshTokenId!, trx);
      return session as Required<IssuedSession>;
    });
  }

  async revokeAccessToken(accessTokenId: number): Promise<void> {
    await this.tokens.deleteAccess(accessTokenId);
  }
}

/**
 * OpenID tokens (client-server openid.yaml, server-server "OpenID"): a user
 * asks for a short-lived token to show a third party, which exchanges it at
 * /_matrix/federation/v1/openid/userinfo for the user's ID. The token is good
 * for that alone: it is not an access token.
 */
import { randomBytes } from 'node:crypto';
import { forbidden, MatrixError } from '../../spec/errors';
import type { OpenIdTokenStore } from '../../storage/openid-tokens';
import type { Requester } from '../http/route';
import { hashToken } from './sessions';

/** How long a token may be exchanged, in seconds. */
export const OPENID_TOKEN_LIFETIME_S = 3600;

export interface OpenIdToken {
  access_token: string;
  token_type: 'Bearer';
  matrix_server_name: string;
  expires_in: number;
}

export class OpenId {
  constructor(
    private readonly tokens: OpenIdTokenStore,
    private readonly serverName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** POST /user/{userId}/openid/request_token: only for the requester's own user ID. */
  async requestToken(requester: Requester, userId: string): Promise<OpenIdToken> {
    if (userId !== requester.userId) throw forbidden('You may only request OpenID tokens for yourself');
    const token = 'wfo_' + randomBytes(32).toString('base64url');
    const now = this.now();
    await this.tokens.insert({ hash: hashToken(token), userId, expiresTs: now + OPENID_TOKEN_LIFETIME_S * 1000 }, now);
    return { access_token: token, token_type: 'Bearer', matrix_server_name: this.serverName, expires_in: OPENID_TOKEN_LIFETIME_S };
  }

  /** GET /openid/userinfo: the user behind a live token; 401 M_UNKNOWN_TOKEN otherwise. */
  async userInfo(token: string | undefined): Promise<{ sub: string }> {
    const userId = token === undefined || token === '' ? undefined : await this.tokens.userOf(hashToken(token), this.now());
    if (userId === undefined) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Access token unknown or expired');
    return { sub: userId };
  }
}

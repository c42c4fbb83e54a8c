/** OpenID tokens (migrations/0012_openid_tokens.ts), by the SHA-256 of the token. */
import type { Db } from './db';

export class OpenIdTokenStore {
  constructor(private readonly db: Db) {}

  /** Stores a new token and drops those expired by `nowMs`, so the table holds only live tokens. */
  async insert(token: { hash: string; userId: string; expiresTs: number }, nowMs: number): Promise<void> {
    await this.db.transaction(async (trx) => {
      await trx('openid_tokens').where('expires_ts', '<=', nowMs).delete();
      await trx('openid_tokens').insert({ token_hash: token.hash, user_id: token.userId, expires_ts: token.expiresTs });
    });
  }

  /** The user a token unexpired at `nowMs` belongs to, unless they were deactivated since. */
  async userOf(hash: string, nowMs: number): Promise<string | undefined> {
    const row = await this.db('openid_tokens as o')
      .join('users as u', 'u.user_id', 'o.user_id')
      .where({ 'o.token_hash': hash, 'u.deactivated': false })
      .andWhere('o.expires_ts', '>', nowMs)
      .first('o.user_id');
    return row?.user_id;
  }
}

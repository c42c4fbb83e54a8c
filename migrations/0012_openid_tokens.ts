/**
 * OpenID tokens (POST /user/{userId}/openid/request_token): short-lived tokens a
 * user hands to a third party, which exchanges them at
 * /_matrix/federation/v1/openid/userinfo for the user's ID. Stored only as
 * SHA-256 hashes, like access tokens.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('openid_tokens', (t) => {
    t.string('token_hash', 64).primary();
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.bigInteger('expires_ts').notNullable();
    t.index(['expires_ts']);
  });
}

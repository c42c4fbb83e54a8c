/** Other servers' signing keys, as fetched from them or from notaries (server-server-api, "Retrieving server keys"). */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // One row per (server, key ID), from the newest response that listed the key.
  // key_json is that response as the server signed it: a notary must serve the
  // original, and a later check of the self-signature needs it unchanged.
  await db.schema.createTable('server_keys', (t) => {
    t.string('server_name', 255).notNullable();
    t.string('key_id', 255).notNullable();
    t.string('public_key', 255).notNullable();
    // The response's valid_until_ts: how long a key in verify_keys may be trusted.
    t.bigInteger('valid_until_ts').notNullable();
    // Set for a key from old_verify_keys: it signed nothing after this.
    t.bigInteger('expired_ts').nullable();
    t.bigInteger('fetched_ts').notNullable();
    t.text('key_json').notNullable();
    t.primary(['server_name', 'key_id']);
  });
}

/**
 * Federation outside the room DAG (docs/federation.md, "EDUs and remote users'
 * devices"): other servers' users' device lists, device keys and cross-signing
 * keys as we cache them; the m.direct_to_device messages received, by their
 * message_id; and the last m.device_list_update sent for each local user.
 *
 * Remote users have no rows in `users` or `devices`, whose foreign keys the
 * local key tables hang off: their cache lives in tables of its own.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // One row per remote user whose device list we cache. `snapshot_stream_id` is
  // the stream_id of the last full fetch (GET /user/devices); `seen_json` the
  // stream_ids of the m.device_list_update EDUs applied since. `stale`: an
  // update was missed, the list must be fetched again before it is served.
  await db.schema.createTable('remote_device_lists', (t) => {
    t.string('user_id', 255).primary();
    t.bigInteger('snapshot_stream_id').notNullable();
    t.text('seen_json').notNullable();
    t.boolean('stale').notNullable();
    t.bigInteger('updated_ts').notNullable();
  });

  // A cached remote device; key_json is null for a device without identity keys.
  await db.schema.createTable('remote_devices', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('remote_device_lists').onDelete('CASCADE');
    t.string('device_id', 255).notNullable();
    t.text('display_name').nullable();
    t.text('key_json').nullable();
    t.primary(['user_id', 'device_id']);
  });

  // A cached remote user's master and self-signing keys (their user-signing key never leaves their server).
  await db.schema.createTable('remote_cross_signing_keys', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('remote_device_lists').onDelete('CASCADE');
    t.string('usage', 32).notNullable();
    t.string('public_key', 255).notNullable();
    t.text('key_json').notNullable();
    t.primary(['user_id', 'usage']);
  });

  // m.direct_to_device is idempotent per origin and message_id; old rows are pruned.
  await db.schema.createTable('to_device_remote_txns', (t) => {
    t.string('origin', 255).notNullable();
    t.string('message_id', 255).notNullable();
    t.bigInteger('received_ts').notNullable();
    t.primary(['origin', 'message_id']);
    t.index(['received_ts']);
  });

  // The stream_id of the last m.device_list_update sent for a local user: the next one's prev_id.
  await db.schema.createTable('device_list_updates_sent', (t) => {
    t.string('user_id', 255).primary();
    t.bigInteger('stream_id').notNullable();
  });
}

/** Presence (current state per user) and the send-to-device queues with their transaction IDs. */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // One row per user who has ever had a presence; every change that clients
  // must hear about moves the row to a new, higher stream_id. No foreign key to
  // users: other servers' users will have their presence here too (federation).
  await db.schema.createTable('presence', (t) => {
    t.increments('stream_id').primary();
    t.string('user_id', 255).notNullable().unique();
    t.string('state', 16).notNullable();
    t.text('status_msg').nullable();
    t.bigInteger('last_active_ts').notNullable();
    t.boolean('currently_active').notNullable();
    // Start-up finds the users a previous run left online or unavailable.
    t.index(['state']);
  });

  // Send-to-device messages waiting for their device, in arrival order (stream_id).
  // A message stays until the device acknowledges it with a later sync token.
  await db.schema.createTable('device_inbox', (t) => {
    t.increments('stream_id').primary();
    t.string('user_id', 255).notNullable();
    t.string('device_id', 255).notNullable();
    t.string('sender', 255).notNullable();
    t.string('type', 255).notNullable();
    t.text('content_json').notNullable();
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
    t.index(['user_id', 'device_id', 'stream_id']);
  });

  // PUT /sendToDevice is idempotent per sending device and transaction ID.
  await db.schema.createTable('to_device_txns', (t) => {
    t.string('user_id', 255).notNullable();
    t.string('device_id', 255).notNullable();
    t.string('txn_id', 255).notNullable();
    t.bigInteger('created_ts').notNullable();
    t.primary(['user_id', 'device_id', 'txn_id']);
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
  });
}

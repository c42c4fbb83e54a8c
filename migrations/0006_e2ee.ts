/**
 * End-to-end encryption: device keys, one-time and fallback keys, cross-signing
 * keys and signatures, server-side key backups, and the device list stream
 * (docs/e2ee.md).
 */
import type { Knex } from 'knex';

/** A key row that belongs to a device: it goes when the device goes. */
function ofDevice(t: Knex.CreateTableBuilder): void {
  t.string('user_id', 255).notNullable();
  t.string('device_id', 255).notNullable();
  t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
}

export async function up(db: Knex): Promise<void> {
  // The device's signed identity keys as uploaded, without `unsigned`.
  await db.schema.createTable('device_keys', (t) => {
    ofDevice(t);
    t.text('key_json').notNullable();
    t.primary(['user_id', 'device_id']);
  });

  // Signatures of a device's keys by its user's self-signing key (POST /keys/signatures/upload).
  await db.schema.createTable('device_key_signatures', (t) => {
    t.string('user_id', 255).notNullable();
    t.string('device_id', 255).notNullable();
    t.string('signer_key_id', 255).notNullable();
    t.text('signature').notNullable();
    t.primary(['user_id', 'device_id', 'signer_key_id']);
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('device_keys').onDelete('CASCADE');
  });

  // Unclaimed one-time keys; a claim deletes its row. `id` is the upload order claims follow.
  await db.schema.createTable('one_time_keys', (t) => {
    t.bigIncrements('id').primary();
    ofDevice(t);
    t.string('algorithm', 255).notNullable();
    t.string('key_id', 255).notNullable();
    t.text('key_json').notNullable();
    t.unique(['user_id', 'device_id', 'algorithm', 'key_id']);
    t.index(['user_id', 'device_id', 'algorithm', 'id'], 'one_time_keys_claim_order');
  });

  // At most one fallback key per device and algorithm; `used` once a claim has handed it out.
  await db.schema.createTable('fallback_keys', (t) => {
    ofDevice(t);
    t.string('algorithm', 255).notNullable();
    t.string('key_id', 255).notNullable();
    t.text('key_json').notNullable();
    t.boolean('used').notNullable().defaultTo(false);
    t.primary(['user_id', 'device_id', 'algorithm']);
  });

  // A user's master, self-signing and user-signing keys as uploaded.
  await db.schema.createTable('cross_signing_keys', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.string('usage', 32).notNullable();
    t.string('public_key', 255).notNullable();
    t.text('key_json').notNullable();
    t.primary(['user_id', 'usage']);
  });

  // Signatures of a master key uploaded after it: by its user's devices, or by
  // another user's user-signing key (visible to that user only).
  await db.schema.createTable('master_key_signatures', (t) => {
    t.string('user_id', 255).notNullable();
    t.string('public_key', 255).notNullable();
    t.string('signer_user_id', 255).notNullable();
    t.string('signer_key_id', 255).notNullable();
    t.text('signature').notNullable();
    t.primary(['user_id', 'public_key', 'signer_user_id', 'signer_key_id']);
  });

  // The device list stream: each user's latest change, at a new position per change.
  // visible_to is '' for a change everyone sharing a room with user_id sees, or
  // the one user it concerns (their user-signing key's signatures of user_id).
  await db.schema.createTable('device_list_changes', (t) => {
    t.increments('stream_id').primary();
    t.string('user_id', 255).notNullable();
    t.string('visible_to', 255).notNullable().defaultTo('');
    t.unique(['user_id', 'visible_to']);
  });

  // Key backup versions. A deleted version keeps its row, so its number is never reused.
  await db.schema.createTable('key_backups', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.bigInteger('version').notNullable();
    t.string('algorithm', 255).notNullable();
    t.text('auth_data_json').notNullable();
    // Moves whenever the backup's keys change.
    t.bigInteger('etag').notNullable().defaultTo(0);
    t.boolean('deleted').notNullable().defaultTo(false);
    t.primary(['user_id', 'version']);
  });

  await db.schema.createTable('key_backup_sessions', (t) => {
    t.string('user_id', 255).notNullable();
    t.bigInteger('version').notNullable();
    t.string('room_id', 255).notNullable();
    t.string('session_id', 255).notNullable();
    t.bigInteger('first_message_index').notNullable();
    t.bigInteger('forwarded_count').notNullable();
    t.boolean('is_verified').notNullable();
    t.text('session_data_json').notNullable();
    t.primary(['user_id', 'version', 'room_id', 'session_id']);
    t.foreign(['user_id', 'version']).references(['user_id', 'version']).inTable('key_backups').onDelete('CASCADE');
  });
}

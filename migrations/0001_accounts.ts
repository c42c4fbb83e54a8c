/** Accounts, devices, tokens, profiles, account data, filters, UIA sessions, registration tokens. */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('users', (t) => {
    t.string('user_id', 255).primary();
    t.text('password_hash').nullable();
    t.boolean('is_admin').notNullable().defaultTo(false);
    t.boolean('is_guest').notNullable().defaultTo(false);
    t.boolean('deactivated').notNullable().defaultTo(false);
    t.bigInteger('created_ts').notNullable();
  });

  await db.schema.createTable('devices', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.string('device_id', 255).notNullable();
    t.text('display_name').nullable();
    t.string('last_seen_ip', 64).nullable();
    t.bigInteger('last_seen_ts').nullable();
    t.string('last_seen_user_agent', 512).nullable();
    t.bigInteger('created_ts').notNullable();
    t.primary(['user_id', 'device_id']);
  });

  await db.schema.createTable('refresh_tokens', (t) => {
    t.increments('id').primary();
    t.string('token_hash', 64).notNullable().unique();
    t.string('user_id', 255).notNullable();
    t.string('device_id', 255).notNullable();
    t.bigInteger('expires_ts').nullable();
    // The refresh token that replaced this one; this one dies once the successor is used.
    t.integer('next_id').nullable();
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
  });

  await db.schema.createTable('access_tokens', (t) => {
    t.increments('id').primary();
    t.string('token_hash', 64).notNullable().unique();
    t.string('user_id', 255).notNullable();
    t.string('device_id', 255).notNullable();
    t.bigInteger('created_ts').notNullable();
    t.bigInteger('expires_ts').nullable();
    t.integer('refresh_token_id').nullable().references('id').inTable('refresh_tokens').onDelete('CASCADE');
    t.boolean('used').notNullable().defaultTo(false);
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
    t.index(['user_id', 'device_id']);
  });

  await db.schema.createTable('profiles', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.string('field', 255).notNullable();
    t.text('value_json').notNullable();
    t.primary(['user_id', 'field']);
  });

  await db.schema.createTable('account_data', (t) => {
    // Every write moves the entry to a new, higher stream_id: /sync reads changes by position.
    t.increments('stream_id').primary();
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    // '' for global account data.
    t.string('room_id', 255).notNullable();
    t.string('type', 255).notNullable();
    t.text('content_json').notNullable();
    t.bigInteger('updated_ts').notNullable();
    t.unique(['user_id', 'room_id', 'type']);
    t.index(['user_id', 'stream_id']);
  });

  await db.schema.createTable('filters', (t) => {
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.integer('filter_id').notNullable();
    t.text('filter_json').notNullable();
    t.primary(['user_id', 'filter_id']);
  });

  await db.schema.createTable('uia_sessions', (t) => {
    t.string('session_id', 64).primary();
    // What the session authorises: method, path and (for safety) the user, so a
    // session started for one request cannot be replayed against another.
    t.string('request_key', 1024).notNullable();
    t.text('completed_json').notNullable().defaultTo('[]');
    t.text('params_json').notNullable().defaultTo('{}');
    t.bigInteger('created_ts').notNullable();
  });

  await db.schema.createTable('registration_tokens', (t) => {
    t.string('token', 64).primary();
    t.integer('uses_allowed').nullable();
    t.integer('pending').notNullable().defaultTo(0);
    t.integer('completed').notNullable().defaultTo(0);
    t.bigInteger('expiry_ts').nullable();
  });

  await db.schema.createTable('shared_secret_nonces', (t) => {
    t.string('nonce', 64).primary();
    t.bigInteger('created_ts').notNullable();
  });
}

/** What the Client-Server room API keeps beside the DAG: transaction IDs, aliases, the directory, reports, forgotten rooms. */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // PUT /send and /redact are idempotent per device and transaction ID.
  await db.schema.createTable('event_txns', (t) => {
    t.string('user_id', 255).notNullable();
    t.string('device_id', 255).notNullable();
    t.string('txn_id', 255).notNullable();
    t.string('event_id', 255).notNullable();
    t.bigInteger('created_ts').notNullable();
    t.primary(['user_id', 'device_id', 'txn_id']);
    t.index(['event_id']);
  });

  await db.schema.createTable('room_aliases', (t) => {
    t.string('alias', 255).primary();
    t.string('room_id', 255).notNullable();
    t.string('creator', 255).notNullable();
    t.bigInteger('created_ts').notNullable();
    t.index(['room_id']);
  });

  // Rooms published in the room directory.
  await db.schema.createTable('room_directory', (t) => {
    t.string('room_id', 255).primary();
    t.bigInteger('published_ts').notNullable();
  });

  await db.schema.createTable('event_reports', (t) => {
    t.increments('id').primary();
    t.string('room_id', 255).notNullable();
    t.string('event_id', 255).notNullable();
    t.string('reporter', 255).notNullable();
    t.text('reason').nullable();
    t.integer('score').nullable();
    t.bigInteger('created_ts').notNullable();
  });

  await db.schema.createTable('forgotten_rooms', (t) => {
    t.string('user_id', 255).notNullable();
    t.string('room_id', 255).notNullable();
    t.primary(['user_id', 'room_id']);
  });
}

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

  // Reports of content for the server's administrators: an event (room_id and
  // event_id), a room (room_id alone) or a user (user_id).
  await db.schema.createTable('reports', (t) => {
    t.increments('id').primary();
    t.string('reporter', 255).notNullable();
    t.string('room_id', 255).nullable();
    t.string('event_id', 255).nullable();
    t.string('user_id', 255).nullable();
    t.text('reason').nullable();
    t.integer('score').nullable();
    t.bigInteger('created_ts').notNullable();
    t.index(['created_ts']);
  });

  // A room is forgotten while the user's membership is still the event they forgot it at
  // (null: they had none); any later membership event brings it back.
  await db.schema.createTable('forgotten_rooms', (t) => {
    t.string('user_id', 255).notNullable();
    t.string('room_id', 255).notNullable();
    t.string('membership_event_id', 255).nullable();
    t.primary(['user_id', 'room_id']);
  });
}

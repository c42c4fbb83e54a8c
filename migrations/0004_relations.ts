/**
 * Event relationships (m.relates_to with a rel_type), the threads they form,
 * and the timeline index timestamp_to_event reads.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // One row per event whose content.m.relates_to names a rel_type and a parent.
  // The child's status, position and redaction are read from its events row.
  await db.schema.createTable('relations', (t) => {
    t.bigInteger('event_nid').primary().references('nid').inTable('events');
    t.string('event_id', 255).notNullable();
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    // The parent; it may not be stored (yet).
    t.string('relates_to_id', 255).notNullable();
    t.string('rel_type', 255).notNullable();
    t.text('type').notNullable();
    t.string('sender', 255).notNullable();
    // m.annotation's `key`.
    t.text('aggregation_key').nullable();
    t.index(['relates_to_id', 'rel_type'], 'relations_parent');
  });

  // Each thread root with the position of its latest accepted m.thread event:
  // GET /threads pages through threads by that position.
  await db.schema.createTable('threads', (t) => {
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    t.string('root_id', 255).notNullable();
    t.bigInteger('latest_depth').notNullable();
    t.bigInteger('latest_stream').notNullable();
    t.primary(['room_nid', 'root_id']);
    t.index(['room_nid', 'latest_depth', 'latest_stream'], 'threads_by_latest');
  });

  await db.schema.alterTable('events', (t) => {
    t.index(['room_nid', 'origin_server_ts'], 'events_room_ts', { predicate: db.whereNotNull('stream_ordering') });
  });
}

/**
 * Rooms, their events (the DAG: prev and auth edges, forward extremities) and
 * room state (state groups, current state). docs/state-storage.md explains the
 * state group scheme.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('rooms', (t) => {
    // The room's number, used instead of the room ID string in the large tables.
    t.increments('nid').primary();
    t.string('room_id', 255).notNullable().unique();
    t.string('room_version', 32).notNullable();
    t.bigInteger('created_ts').notNullable();
    // The state group that current_state materialises; null until first set.
    t.bigInteger('current_state_group').nullable();
  });

  await db.schema.createTable('state_groups', (t) => {
    t.bigIncrements('id').primary();
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    // null: a snapshot (entries hold the whole state). Otherwise entries and
    // removed are this group's difference from its base group.
    t.bigInteger('base_id').nullable().references('id').inTable('state_groups');
    // Distance in groups from the snapshot along the chain of parents; picks the base.
    t.integer('height').notNullable();
    // Number of (type, state key) entries in the whole state.
    t.integer('size').notNullable();
    // JSON array of event nids: the events that hold a (type, state key) here.
    t.text('entries').notNullable();
    // JSON array of [type, state key] pairs absent here but present in the base.
    t.text('removed').nullable();
  });

  await db.schema.createTable('events', (t) => {
    // The event's number, used by state groups and edges.
    t.bigIncrements('nid').primary();
    t.string('event_id', 255).notNullable().unique();
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    t.text('type').notNullable();
    t.text('state_key').nullable();
    t.string('sender', 255).notNullable();
    t.bigInteger('depth').notNullable();
    t.bigInteger('origin_server_ts').notNullable();
    // Position in the global /sync stream; null for events outside every timeline
    // (outliers, rejected and soft-failed events).
    t.bigInteger('stream_ordering').nullable().unique();
    t.enu('status', ['accepted', 'rejected', 'soft_failed', 'outlier']).notNullable();
    t.text('rejection_reason').nullable();
    // The state before and after the event; null for outliers.
    t.bigInteger('state_before').nullable().references('id').inTable('state_groups');
    t.bigInteger('state_after').nullable().references('id').inTable('state_groups');
    // For m.room.redaction: the event it redacts. For any event: the redaction applied to it.
    t.string('redacts', 255).nullable();
    t.string('redacted_by', 255).nullable();
    // content.membership of m.room.member events, so membership queries need not parse PDUs.
    t.string('membership', 32).nullable();
    t.text('pdu_json').notNullable();
    t.index(['room_nid', 'stream_ordering'], 'events_room_stream', { predicate: db.whereNotNull('stream_ordering') });
    t.index(['room_nid', 'depth', 'stream_ordering'], 'events_room_topological', { predicate: db.whereNotNull('stream_ordering') });
    t.index(['redacts'], 'events_redacts', { predicate: db.whereNotNull('redacts') });
    // A user's membership history in a room (history visibility: did they join later?).
    t.index(['room_nid', 'state_key', 'membership'], 'events_room_membership', { predicate: db.whereNotNull('membership') });
  });

  // Edges are written once per event (deduplicated), so they need no key of their
  // own; an event's edges are also in its PDU, these tables are for the reverse direction
  // and for walking the DAG in SQL.
  await db.schema.createTable('event_prev_edges', (t) => {
    t.bigInteger('event_nid').notNullable().references('nid').inTable('events');
    // May name an event not (yet) stored.
    t.string('prev_event_id', 255).notNullable();
    t.index(['prev_event_id']);
  });

  await db.schema.createTable('event_auth_edges', (t) => {
    t.bigInteger('event_nid').notNullable().references('nid').inTable('events');
    t.string('auth_event_id', 255).notNullable();
    t.index(['event_nid']);
  });

  await db.schema.createTable('forward_extremities', (t) => {
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    t.string('event_id', 255).notNullable().references('event_id').inTable('events');
    t.primary(['room_nid', 'event_id']);
  });

  await db.schema.createTable('current_state', (t) => {
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    t.text('type').notNullable();
    t.text('state_key').notNullable();
    t.bigInteger('event_nid').notNullable().references('nid').inTable('events');
    t.primary(['room_nid', 'type', 'state_key']);
    // A user's rooms: (m.room.member, user ID) across rooms.
    t.index(['state_key', 'type'], 'current_state_by_state_key');
  });

  // PostgreSQL hands out stream positions from a sequence, so writers to different
  // rooms never wait on one another; SQLite has one writer and takes max + 1.
  if (db.client.config.client === 'pg') await db.raw('create sequence events_stream_seq');
}

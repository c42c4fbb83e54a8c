/**
 * Push (docs/push.md): each user's changes to their push rules, the
 * notifications events gave them, their pushers; and receipts.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // What a user changed in their push rules, as one JSON document (spec/push/ruleset.ts
  // UserRules); users who changed nothing have no row. Every write moves the row to a
  // new, higher stream_id: the push_rules stream of /sync.
  await db.schema.createTable('push_rules', (t) => {
    t.increments('stream_id').primary();
    t.string('user_id', 255).notNullable().unique().references('user_id').inTable('users').onDelete('CASCADE');
    t.text('rules_json').notNullable();
  });

  // One row per (user, event) that notified the user, written in the event's transaction.
  await db.schema.createTable('push_actions', (t) => {
    t.string('user_id', 255).notNullable();
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    // The event's position in the room stream (unique per event).
    t.bigInteger('stream_ordering').notNullable();
    // 'main', or the event ID of the thread root.
    t.string('thread_id', 255).notNullable();
    t.boolean('highlight').notNullable();
    // The matched rule's actions, for /notifications.
    t.text('actions_json').notNullable();
    t.bigInteger('ts').notNullable();
    // When a read receipt covered the event; null while unread.
    t.bigInteger('read_ts').nullable();
    t.primary(['user_id', 'stream_ordering']);
    // Unread counts read only unread rows...
    t.index(['user_id', 'room_nid', 'thread_id'], 'push_actions_unread', { predicate: db.whereNull('read_ts') });
    // ...and bring kept counts forward with a room's rows since a position.
    t.index(['room_nid', 'stream_ordering'], 'push_actions_room_stream');
  });
  // GET /notifications?only=highlight.
  await db.raw('create index push_actions_highlights on push_actions (user_id, stream_ordering) where highlight');

  // One receipt per (room, user, type, thread); '' for an unthreaded receipt. Every
  // write moves the row to a new, higher stream_id: the receipts stream of /sync.
  await db.schema.createTable('receipts', (t) => {
    t.increments('stream_id').primary();
    t.integer('room_nid').notNullable().references('nid').inTable('rooms');
    t.string('user_id', 255).notNullable();
    t.string('receipt_type', 64).notNullable();
    t.string('thread_id', 255).notNullable();
    t.string('event_id', 255).notNullable();
    // The stream ordering of the event: receipts only move forwards.
    t.bigInteger('event_stream').notNullable();
    t.bigInteger('ts').notNullable();
    t.unique(['room_nid', 'user_id', 'receipt_type', 'thread_id']);
  });

  await db.schema.createTable('pushers', (t) => {
    t.increments('id').primary();
    t.string('user_id', 255).notNullable().references('user_id').inTable('users').onDelete('CASCADE');
    t.string('kind', 16).notNullable();
    t.string('app_id', 255).notNullable();
    t.string('pushkey', 1024).notNullable();
    t.text('app_display_name').notNullable();
    t.text('device_display_name').notNullable();
    t.text('profile_tag').nullable();
    t.text('lang').notNullable();
    t.text('data_json').notNullable();
    // The device that set the pusher.
    t.string('device_id', 255).nullable();
    t.bigInteger('pushkey_ts').notNullable();
    t.unique(['user_id', 'app_id', 'pushkey']);
    // append: false removes other users' pushers with the same app_id and pushkey.
    t.index(['app_id', 'pushkey']);
  });
}

/** What /sync reads beside the DAG. */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('events', (t) => {
    // For a state event in the timeline or the state: the event it replaced in the
    // state before it (clients get its content as unsigned.prev_content).
    t.string('prev_state', 255).nullable();
  });
  // A user's membership events across rooms, newest last: /sync finds what changed since a position.
  await db.schema.alterTable('events', (t) => {
    t.index(['state_key', 'stream_ordering'], 'events_member_stream', { predicate: db.whereNotNull('membership') });
  });
}

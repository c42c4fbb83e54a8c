/**
 * The room's current state once an accepted event was applied, where that is
 * not the event's own state after it: an event on one fork of the DAG, whose
 * room state is the resolution of every fork. /sync reads the room's state at
 * a stream position from it.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('events', (t) => {
    t.bigInteger('room_state').nullable();
  });
}

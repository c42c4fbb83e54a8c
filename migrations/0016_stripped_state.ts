/**
 * The stripped state another server gave with a membership of one of our users
 * in a room this server is not in: an invite's invite_room_state, a knock's
 * knock_room_state. /sync shows it in the room's invite_state or knock_state.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('stripped_state', (t) => {
    t.bigInteger('event_nid').primary().references('nid').inTable('events');
    // JSON array of {type, state_key, sender, content}.
    t.text('events_json').notNullable();
  });
}

/**
 * Stripped state kept with a membership event of a room this server is not in
 * (an invite's invite_room_state, a knock's knock_room_state): the only view of
 * the room its user has until they join.
 */
import type { Db } from './db';

export interface StrippedEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}

export class StrippedStateStore {
  constructor(private readonly db: Db) {}

  async set(trx: Db, eventId: string, events: readonly StrippedEvent[]): Promise<void> {
    const row = await trx('events').where({ event_id: eventId }).first('nid');
    await trx('stripped_state').insert({ event_nid: row.nid, events_json: JSON.stringify(events) }).onConflict('event_nid').merge(['events_json']);
  }

  /** The stripped state kept with the event, if any. */
  async get(eventId: string, db: Db = this.db): Promise<StrippedEvent[] | undefined> {
    const row = await db('stripped_state as s').join('events as e', 'e.nid', 's.event_nid').where('e.event_id', eventId).first('s.events_json');
    return row ? JSON.parse(row.events_json) : undefined;
  }
}

/**
 * What a room's summary is made from (the published room directory, the space
 * hierarchy): its version, its joined-member count, and some of its current
 * state events, read for many rooms at once in three queries.
 */
import type { Knex } from 'knex';
import type { Pdu } from '../spec/pdu';
import type { Db } from './db';
import { listOf } from './transactions';

/** A current state event, `redacted` when a redaction of it was accepted. */
export interface SummaryStateEvent {
  pdu: Pdu;
  redacted: boolean;
}

export interface RoomSummaryState {
  roomId: string;
  version: string;
  joinedMembers: number;
  /** The requested state events with state key '', by type. */
  state: Map<string, SummaryStateEvent>;
  /** The current events of the `keyedType` asked for, whatever their state keys (e.g. m.space.child). */
  keyed: SummaryStateEvent[];
}

export interface SummaryStateRequest {
  /** Types read with state key ''. */
  types: readonly string[];
  /** A type read with every state key. */
  keyedType?: string;
}

/** Rooms to read: a list of IDs, or a subquery selecting room IDs. */
type RoomScope = readonly string[] | Knex.QueryBuilder;

/** The summary state of each room in `scope` that this server knows. */
export async function readSummaryStates(db: Db, scope: RoomScope, request: SummaryStateRequest): Promise<Map<string, RoomSummaryState>> {
  const roomIds = Array.isArray(scope) ? listOf(db, scope as readonly string[], 'text') : (scope as Knex.QueryBuilder);
  const rooms = new Map<string, RoomSummaryState>();
  for (const row of await db('rooms as r').whereIn('r.room_id', roomIds).select('r.room_id', 'r.room_version')) {
    rooms.set(row.room_id, { roomId: row.room_id, version: row.room_version, joinedMembers: 0, state: new Map(), keyed: [] });
  }
  if (rooms.size === 0) return rooms;

  const stateRows = await db('rooms as r')
    .join('current_state as cs', 'cs.room_nid', 'r.nid')
    .join('events as e', 'e.nid', 'cs.event_nid')
    .whereIn('r.room_id', roomIds)
    .where((q) => {
      q.where((unkeyed) => unkeyed.where('cs.state_key', '').whereIn('cs.type', [...request.types]));
      if (request.keyedType !== undefined) q.orWhere('cs.type', request.keyedType);
    })
    .select('r.room_id', 'cs.type', 'cs.state_key', 'e.pdu_json', 'e.redacted_by');
  for (const row of stateRows) {
    const room = rooms.get(row.room_id);
    if (!room) continue;
    const event = { pdu: JSON.parse(row.pdu_json) as Pdu, redacted: row.redacted_by !== null };
    if (row.type === request.keyedType) room.keyed.push(event);
    else room.state.set(row.type, event);
  }

  const countRows = await db('rooms as r')
    .join('current_state as cs', 'cs.room_nid', 'r.nid')
    .join('events as e', 'e.nid', 'cs.event_nid')
    .whereIn('r.room_id', roomIds)
    .where({ 'cs.type': 'm.room.member', 'e.membership': 'join' })
    .groupBy('r.room_id')
    .select('r.room_id')
    .count({ n: '*' });
  for (const row of countRows as { room_id: string; n: number | string }[]) {
    const room = rooms.get(row.room_id);
    if (room) room.joinedMembers = Number(row.n);
  }
  return rooms;
}

export class RoomSummaryStore {
  constructor(private readonly db: Db) {}

  /** The summary state of those of the rooms this server knows. */
  read(roomIds: readonly string[], request: SummaryStateRequest, db: Db = this.db): Promise<Map<string, RoomSummaryState>> {
    return roomIds.length === 0 ? Promise.resolve(new Map()) : readSummaryStates(db, roomIds, request);
  }
}

/**
 * Stripped state ("Stripped state" in the Client-Server API): what a user who
 * is invited to or knocking on a room sees of it, each event cut down to
 * sender, type, state_key and content.
 */
import { stateTuple, type Pdu } from '../../spec/pdu';
import type { Stores } from '../../storage';

export interface StrippedStateEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}

/** The state a potential joiner is shown: the spec's list, with m.room.create (required since v1.16) first. */
const STRIPPED_TYPES = [
  'm.room.create',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.join_rules',
  'm.room.canonical_alias',
  'm.room.encryption',
];

export const stripped = (pdu: Pdu): StrippedStateEvent => ({ type: pdu.type, state_key: pdu.state_key!, sender: pdu.sender, content: pdu.content });

/**
 * The stripped form of each entry of another server's invite_room_state or
 * knock_room_state (full PDUs since spec v1.16, stripped events before);
 * entries without a string type, state_key and sender and an object content are left out.
 */
export function strippedEvents(entries: readonly unknown[]): StrippedStateEvent[] {
  return entries.flatMap((entry) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return [];
    const { type, state_key: stateKey, sender, content } = entry as Record<string, unknown>;
    if (typeof type !== 'string' || typeof stateKey !== 'string' || typeof sender !== 'string') return [];
    if (typeof content !== 'object' || content === null || Array.isArray(content)) return [];
    return [{ type, state_key: stateKey, sender, content: content as Record<string, unknown> }];
  });
}

/**
 * The room's current state events another server's user is shown before
 * joining, as full PDUs (invite_room_state, knock_room_state): the listed
 * types, and the membership of `sender` when given.
 */
export async function strippedStatePdus(stores: Stores, roomId: string, sender?: string): Promise<Pdu[]> {
  const tuples = STRIPPED_TYPES.map((type) => stateTuple(type, ''));
  if (sender !== undefined) tuples.push(stateTuple('m.room.member', sender));
  const state = await stores.roomState.currentStateEvents(roomId, tuples);
  return tuples.flatMap((tuple) => state.get(tuple)?.pdu ?? []);
}

/**
 * The stripped state of the room as of a membership event (an invite or a
 * knock): the listed state after it, then the sender's membership and the
 * membership event itself, so clients can name who invited whom.
 */
export async function strippedStateAt(stores: Stores, membershipEventId: string): Promise<StrippedStateEvent[]> {
  const given = await stores.strippedState.get(membershipEventId);
  if (given) {
    // A room this server is not in: the stripped state its server gave, then the membership event.
    const membership = (await stores.events.get([membershipEventId])).get(membershipEventId);
    if (!membership) return given;
    const own = stripped(membership.event.pdu);
    return [...given.filter((e) => e.type !== own.type || e.state_key !== own.state_key), own];
  }
  const state = (await stores.roomState.stateAfter(membershipEventId)) ?? new Map<string, string>();
  const membership = (await stores.events.get([membershipEventId])).get(membershipEventId);
  const tuples = STRIPPED_TYPES.map((type) => stateTuple(type, ''));
  if (membership) tuples.push(stateTuple('m.room.member', membership.event.pdu.sender));
  const ids = [...new Set(tuples.flatMap((tuple) => state.get(tuple) ?? []).filter((id) => id !== membershipEventId))];
  const loaded = await stores.events.get(ids);
  const events = ids.flatMap((id) => loaded.get(id) ?? []).map((stored) => stripped(stored.event.pdu));
  if (membership) events.push(stripped(membership.event.pdu));
  return events;
}

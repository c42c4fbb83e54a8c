/**
 * Auth events selection (server-server-api.md): the state entries an event's
 * `auth_events` must be drawn from, for building events and for checking
 * received ones (auth rule "Considering the event's auth_events").
 */
import { stateTuple, type StateTuple } from './pdu';
import { ownValue } from './power-levels';
import type { RoomVersion } from './room-versions';

/** The parts of an event that decide its auth events. */
export interface AuthEventsSubject {
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content: Record<string, unknown>;
}

/** Room version 12: the room ID is the create event's ID, which therefore must not be among the auth events. */
export function createEventImpliedByRoomId(version: RoomVersion): boolean {
  return version.eventFormat === 'v12';
}

const MEMBERSHIPS_NEEDING_JOIN_RULES: ReadonlySet<unknown> = new Set(['join', 'invite', 'knock']);

/**
 * The (type, state_key) entries of the room state that `event`'s auth events
 * are taken from, without duplicates; the caller keeps those present in the
 * state. Empty for m.room.create.
 */
export function authEventsSelection(event: AuthEventsSubject, version: RoomVersion): StateTuple[] {
  if (event.type === 'm.room.create') return [];
  const selection = new Set<StateTuple>();
  if (!createEventImpliedByRoomId(version)) selection.add(stateTuple('m.room.create', ''));
  selection.add(stateTuple('m.room.power_levels', ''));
  selection.add(stateTuple('m.room.member', event.sender));
  if (event.type === 'm.room.member' && typeof event.state_key === 'string') {
    const membership = event.content.membership;
    selection.add(stateTuple('m.room.member', event.state_key));
    if (MEMBERSHIPS_NEEDING_JOIN_RULES.has(membership)) selection.add(stateTuple('m.room.join_rules', ''));
    if (membership === 'invite') {
      const token = ownValue(ownValue(ownValue(event.content, 'third_party_invite'), 'signed'), 'token');
      if (typeof token === 'string') selection.add(stateTuple('m.room.third_party_invite', token));
    }
    if (membership === 'join' && version.restrictedJoins) {
      const authoriser = ownValue(event.content, 'join_authorised_via_users_server');
      if (typeof authoriser === 'string') selection.add(stateTuple('m.room.member', authoriser));
    }
  }
  return [...selection];
}

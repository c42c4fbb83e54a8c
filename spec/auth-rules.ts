/**
 * The authorisation rules of every room version (rooms/fragments/
 * v1-auth-rules.md, v3-auth-rules.md, v8-auth-rules.md; rooms/v6.md, v7.md,
 * v10.md, v11.md, v12.md), with the differences between versions read from
 * the RoomVersion table.
 *
 * `authorize` applies the rules that depend on a state: pass it the event's
 * auth events (as `checkAuthEvents` returns them) or the room state before the
 * event. In room version 12 that state must include the m.room.create event
 * the room ID names, which is no longer among the auth events.
 */
import { authEventsSelection, createEventImpliedByRoomId } from './auth-events';
import { authorizeCreate } from './auth/create';
import { AuthContext, deny, serverNameOf } from './auth/context';
import { authorizeMember } from './auth/member';
import { authorizePowerLevels } from './auth/power-levels';
import { createEventIdOfRoom } from './event-hashes';
import { authEventIds, stateTuple, type Authorize, type RoomEvent, type StateEvents } from './pdu';
import { CREATE_TUPLE } from './power-levels';
import type { RoomVersion } from './room-versions';

export const authorize: Authorize = (event, authState, version) => {
  const { pdu } = event;
  if (pdu.type === 'm.room.create') return authorizeCreate(pdu, version);

  const create = authState.get(CREATE_TUPLE);
  if (!create) deny('auth events', 'there is no m.room.create event');
  if (createEventImpliedByRoomId(version)) {
    if (typeof pdu.room_id !== 'string' || createEventIdOfRoom(pdu.room_id, version) !== create.id) {
      deny('room ID', 'the room ID is not the m.room.create event ID');
    }
  }
  if (create.pdu.content['m.federate'] === false && serverNameOf(pdu.sender) !== serverNameOf(create.pdu.sender)) {
    deny('m.federate', "the room does not federate and the sender's server is not the creator's");
  }
  if (version.aliasesAuthRule && pdu.type === 'm.room.aliases') {
    if (pdu.state_key === undefined) deny('m.room.aliases', 'no state_key');
    if (serverNameOf(pdu.sender) !== pdu.state_key) deny('m.room.aliases', "the state_key is not the sender's server");
    return;
  }

  const ctx = new AuthContext(event, authState, version, create);
  if (pdu.type === 'm.room.member') return authorizeMember(ctx);
  if (ctx.membership(ctx.sender) !== 'join') deny('sender membership', 'the sender is not joined');

  const senderLevel = ctx.userLevel(ctx.sender);
  if (pdu.type === 'm.room.third_party_invite') {
    if (senderLevel >= ctx.levels.named('invite')) return;
    deny('m.room.third_party_invite', "the sender's power level is below the invite level");
  }
  const isState = pdu.state_key !== undefined;
  const required = ctx.levels.required(pdu.type, isState);
  if (required > senderLevel) deny('power level', `${pdu.type} needs power level ${required}, the sender has ${senderLevel}`);
  if (typeof pdu.state_key === 'string' && pdu.state_key.startsWith('@') && pdu.state_key !== ctx.sender) {
    deny('state_key', 'a state_key starting with @ must be the sender');
  }
  if (pdu.type === 'm.room.power_levels') return authorizePowerLevels(ctx);
  if (version.redactionAuthRule && pdu.type === 'm.room.redaction') {
    if (senderLevel >= ctx.levels.named('redact')) return;
    const redactedServer = serverNameOf(pdu.redacts);
    if (redactedServer !== undefined && redactedServer === serverNameOf(event.id)) return;
    deny('m.room.redaction', "the sender's power level is below the redact level and the event is from another server");
  }
};

/**
 * The rules on the event's auth events themselves ("Considering the event's
 * auth_events"): `authEvents` are the events its `auth_events` reference, as
 * fetched (in any order); `isRejected` says whether one was rejected. Returns
 * them as the state `authorize` checks the event against; in room version 12
 * the caller adds the create event. Create events skip these rules.
 */
export function checkAuthEvents(
  event: RoomEvent,
  authEvents: readonly RoomEvent[],
  version: RoomVersion,
  isRejected: (eventId: string) => boolean = () => false,
): StateEvents {
  const state: StateEvents = new Map();
  const { pdu } = event;
  if (pdu.type === 'm.room.create') return state;
  const byId = new Map(authEvents.map((e) => [e.id, e]));
  const expected = new Set(authEventsSelection(pdu, version));
  for (const id of authEventIds(pdu)) {
    const authEvent = byId.get(id);
    if (!authEvent) deny('auth events', `auth event ${id} is unavailable`);
    const { type, state_key } = authEvent.pdu;
    if (typeof state_key !== 'string') deny('auth events', `auth event ${id} is not a state event`);
    const tuple = stateTuple(type, state_key);
    if (state.has(tuple)) deny('auth events', `more than one auth event for (${type}, ${state_key})`);
    if (!expected.has(tuple)) deny('auth events', `auth event (${type}, ${state_key}) is not one auth events selection picks`);
    if (isRejected(id)) deny('auth events', `auth event ${id} was rejected`);
    if (authEvent.pdu.room_id !== pdu.room_id) deny('auth events', `auth event ${id} is in another room`);
    state.set(tuple, authEvent);
  }
  if (!createEventImpliedByRoomId(version) && !state.has(CREATE_TUPLE)) {
    deny('auth events', 'there is no m.room.create event among them');
  }
  return state;
}

/**
 * Check 4 on receipt of a PDU ("passes authorisation rules based on the
 * event's auth events"): checkAuthEvents, then authorize against them. In room
 * version 12 pass the create event the room ID names (accepted, not rejected).
 */
export function authorizeByAuthEvents(
  event: RoomEvent,
  authEvents: readonly RoomEvent[],
  version: RoomVersion,
  options: { create?: RoomEvent; isRejected?: (eventId: string) => boolean } = {},
): void {
  const state = checkAuthEvents(event, authEvents, version, options.isRejected);
  if (options.create && createEventImpliedByRoomId(version)) state.set(CREATE_TUPLE, options.create);
  authorize(event, state, version);
}

/**
 * Which state an event is authorised against (server-server-api.md, "Auth
 * events selection"), and which events are power events (rooms/fragments/
 * v2-state-res.md, "Definitions").
 */
import { stateTuple, type Pdu, type StateTuple } from '../pdu';
import type { RoomVersion } from '../room-versions';

export const CREATE_KEY = stateTuple('m.room.create', '');
export const POWER_LEVELS_KEY = stateTuple('m.room.power_levels', '');
export const JOIN_RULES_KEY = stateTuple('m.room.join_rules', '');

export const memberKey = (userId: string): StateTuple => stateTuple('m.room.member', userId);

/**
 * The (type, state_key) pairs the auth rules read for this event. The create
 * event is always among them: from room version 12 it is implied by the
 * room ID rather than listed in auth_events, but the rules still consult it.
 */
export function authStateKeys(pdu: Pdu, version: RoomVersion): StateTuple[] {
  if (pdu.type === 'm.room.create') return [];
  const keys = [CREATE_KEY, POWER_LEVELS_KEY, memberKey(pdu.sender)];
  if (pdu.type !== 'm.room.member' || typeof pdu.state_key !== 'string') return keys;

  keys.push(memberKey(pdu.state_key));
  const membership = pdu.content.membership;
  if (membership === 'join' || membership === 'invite' || membership === 'knock') keys.push(JOIN_RULES_KEY);
  const token = thirdPartyInviteToken(pdu);
  if (membership === 'invite' && token !== undefined) keys.push(stateTuple('m.room.third_party_invite', token));
  const authoriser = pdu.content.join_authorised_via_users_server;
  if (membership === 'join' && version.restrictedJoins && typeof authoriser === 'string') keys.push(memberKey(authoriser));
  return [...new Set(keys)];
}

function thirdPartyInviteToken(pdu: Pdu): string | undefined {
  const invite = pdu.content.third_party_invite;
  if (typeof invite !== 'object' || invite === null) return undefined;
  const signed = (invite as Record<string, unknown>).signed;
  if (typeof signed !== 'object' || signed === null) return undefined;
  const token = (signed as Record<string, unknown>).token;
  return typeof token === 'string' ? token : undefined;
}

/**
 * m.room.power_levels and m.room.join_rules, and memberships of `leave` or
 * `ban` that someone other than the target sent: events that might take
 * away someone's ability to act. (The room-wide events are those with the
 * empty state key, the ones the auth rules read.)
 */
export function isPowerEvent(pdu: Pdu): boolean {
  if (pdu.state_key === undefined) return false;
  if (pdu.type === 'm.room.power_levels' || pdu.type === 'm.room.join_rules') return pdu.state_key === '';
  if (pdu.type !== 'm.room.member') return false;
  const membership = pdu.content.membership;
  return (membership === 'leave' || membership === 'ban') && pdu.sender !== pdu.state_key;
}

/**
 * Joining a restricted room without an invite (Client-Server "Restricted
 * rooms"; join rule `restricted` from room version 8, `knock_restricted` from
 * 10): the joiner must be joined to one of the rooms the `allow` conditions
 * name, and a member of the room who may invite vouches for the join in
 * `content.join_authorised_via_users_server` (rooms/v8.md, auth rule 4.3.5).
 * That member must be ours: the event is signed by their server.
 */
import { MatrixError, forbidden } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import { stateTuple } from '../../spec/pdu';
import { CREATE_TUPLE, POWER_LEVELS_TUPLE, PowerLevels, isJsonObject } from '../../spec/power-levels';
import type { RoomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';

const JOIN_RULES_TUPLE = stateTuple('m.room.join_rules', '');

export function isRestrictedJoinRule(joinRule: unknown, version: RoomVersion): boolean {
  return (version.restrictedJoins && joinRule === 'restricted') || (version.knockRestricted && joinRule === 'knock_restricted');
}

/** The room IDs of the `m.room_membership` allow conditions of an m.room.join_rules content. */
export function allowedRoomIds(joinRules: Record<string, unknown> | undefined): string[] {
  const allow = joinRules?.allow;
  if (!Array.isArray(allow)) return [];
  return allow
    .filter((c): c is Record<string, unknown> => isJsonObject(c) && c.type === 'm.room_membership' && typeof c.room_id === 'string')
    .map((c) => c.room_id as string);
}

/**
 * The local user to name in `join_authorised_via_users_server` when `userId`
 * joins `roomId`, or undefined when the join needs none (the join rule is not
 * restricted, or the user is already invited or joined). Throws 403 when the
 * user meets no allow condition this server can verify, and 400
 * M_UNABLE_TO_GRANT_JOIN when no local member may invite.
 */
export async function restrictedJoinAuthoriser(
  stores: Stores,
  serverName: string,
  room: { roomId: string; version: RoomVersion },
  userId: string,
): Promise<string | undefined> {
  const memberTuple = stateTuple('m.room.member', userId);
  const state = await stores.roomState.currentStateEvents(room.roomId, [JOIN_RULES_TUPLE, CREATE_TUPLE, POWER_LEVELS_TUPLE, memberTuple]);
  const joinRules = state.get(JOIN_RULES_TUPLE)?.pdu.content;
  if (!isRestrictedJoinRule(joinRules?.join_rule, room.version)) return undefined;
  const membership = state.get(memberTuple)?.pdu.content.membership;
  if (membership === 'invite' || membership === 'join') return undefined;

  const joinedRooms = new Set(await stores.memberships.roomsOf(userId, ['join']));
  const allowed = allowedRoomIds(joinRules);
  if (!allowed.some((id) => joinedRooms.has(id))) {
    // Another server's user may be in a room we are not in: we cannot tell (restricted rooms, server-server API).
    if (parseUserId(userId)?.serverName !== serverName && !(await residentInAny(stores, serverName, allowed))) {
      throw new MatrixError(400, 'M_UNABLE_TO_AUTHORISE_JOIN', 'This server is in none of the rooms this room admits members of');
    }
    throw forbidden('You are not a member of any of the rooms this room admits members of');
  }
  const levels = PowerLevels.fromState(state, room.version);
  const inviteLevel = levels.named('invite');
  const candidates = (await stores.memberships.members(room.roomId, { membership: 'join' }))
    .map((m) => ({ userId: m.userId, level: levels.user(m.userId) }))
    .filter((c) => parseUserId(c.userId)?.serverName === serverName && c.level >= inviteLevel)
    .sort((a, b) => b.level - a.level || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  if (candidates.length === 0) {
    throw new MatrixError(400, 'M_UNABLE_TO_GRANT_JOIN', 'No member of this server may invite you to this room');
  }
  return candidates[0].userId;
}

/** Whether one of our users is joined to any of the rooms, so their membership lists are current here. */
async function residentInAny(stores: Stores, serverName: string, roomIds: readonly string[]): Promise<boolean> {
  for (const roomId of roomIds) {
    if ((await stores.rooms.get(roomId)) && (await stores.memberships.anyJoinedOnServer(roomId, serverName))) return true;
  }
  return false;
}

/**
 * Rooms: creating them, sending events and state, redacting, reading events,
 * state and members, and changing memberships (rooms.yaml, room_send.yaml,
 * room_state.yaml, redaction.yaml, create_room.yaml, list_joined_rooms.yaml,
 * joining.yaml, inviting.yaml, leaving.yaml, kicking.yaml, banning.yaml, knocking.yaml).
 */
import { invalidParam } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import {
  createRoomBody,
  reasonBody,
  targetedMembershipBody,
  type CreateRoomBody,
  type ReasonBody,
  type TargetedMembershipBody,
} from '../../spec/schemas/rooms';
import { authed, type AuthedRequest, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function roomRoutes(s: Services): Route<any>[] {
  const { rooms } = s;

  const setState = ({ requester, params, body }: AuthedRequest<Record<string, unknown>>) =>
    rooms.setState(requester, params.roomId, params.eventType, params.stateKey ?? '', body).then((event_id) => ({ event_id }));
  const getState = ({ requester, params }: AuthedRequest<unknown>) =>
    rooms.stateContent(requester, params.roomId, params.eventType, params.stateKey ?? '');

  /**
   * The room a /join or /knock path names (aliases resolve through the
   * directory, here or on the alias's server), and the servers to reach it
   * through if it is on another: `via` (and the deprecated `server_name`), then those the alias lookup named.
   */
  const target = async (roomIdOrAlias: string, queryAll: Record<string, string[]>): Promise<{ roomId: string; via: string[] }> => {
    const via = [...(queryAll.via ?? []), ...(queryAll.server_name ?? [])];
    if (roomIdOrAlias.startsWith('!')) return { roomId: roomIdOrAlias, via };
    if (roomIdOrAlias.startsWith('#')) {
      const resolved = await s.rooms.lookupAlias(roomIdOrAlias);
      return { roomId: resolved.room_id, via: [...via, ...resolved.servers] };
    }
    throw invalidParam(`'${roomIdOrAlias}' is neither a room ID nor a room alias`);
  };

  const targeted = (action: 'invite' | 'kick' | 'ban' | 'unban') =>
    authed<TargetedMembershipBody>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/${action}`,
      rateLimit: 'request',
      body: targetedMembershipBody,
      handler: async ({ requester, params, body }) => {
        if (!parseUserId(body.user_id)) throw invalidParam(`'${body.user_id}' is not a valid user ID`);
        await rooms[action](requester, params.roomId, body.user_id, body.reason);
        return {};
      },
    });

  return [
    authed<CreateRoomBody>({
      method: 'POST',
      path: `${V3}/createRoom`,
      rateLimit: 'request',
      body: createRoomBody,
      handler: async ({ requester, body }) => ({ room_id: await rooms.create(requester, body) }),
    }),
    authed<Record<string, unknown>>({
      method: 'PUT',
      path: `${V3}/rooms/:roomId/send/:eventType/:txnId`,
      guests: true,
      rateLimit: 'request',
      handler: async ({ requester, params, body }) => ({
        event_id: await rooms.send(requester, { roomId: params.roomId, type: params.eventType, content: body, txnId: params.txnId }),
      }),
    }),
    authed({ method: 'PUT', path: `${V3}/rooms/:roomId/state/:eventType`, guests: true, rateLimit: 'request', handler: setState }),
    authed({ method: 'PUT', path: `${V3}/rooms/:roomId/state/:eventType/:stateKey`, guests: true, rateLimit: 'request', handler: setState }),
    authed({ method: 'GET', path: `${V3}/rooms/:roomId/state/:eventType`, guests: true, handler: getState }),
    authed({ method: 'GET', path: `${V3}/rooms/:roomId/state/:eventType/:stateKey`, guests: true, handler: getState }),
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/state`,
      guests: true,
      handler: ({ requester, params }) => rooms.stateEvents(requester, params.roomId),
    }),
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/event/:eventId`,
      guests: true,
      handler: ({ requester, params }) => rooms.event(requester, params.roomId, params.eventId),
    }),
    authed<{ reason?: string }>({
      method: 'PUT',
      path: `${V3}/rooms/:roomId/redact/:eventId/:txnId`,
      rateLimit: 'request',
      body: reasonBody,
      handler: async ({ requester, params, body }) => ({
        event_id: await rooms.redact(requester, params.roomId, params.eventId, params.txnId, body.reason),
      }),
    }),
    authed({
      method: 'GET',
      path: `${V3}/joined_rooms`,
      handler: async ({ requester }) => ({ joined_rooms: await rooms.joinedRooms(requester.userId) }),
    }),
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/members`,
      guests: true,
      handler: async ({ requester, params, query }) => ({
        chunk: await rooms.members(requester, params.roomId, { at: query.at, membership: query.membership, notMembership: query.not_membership }),
      }),
    }),
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/joined_members`,
      handler: async ({ requester, params }) => ({ joined: await rooms.joinedMembers(requester, params.roomId) }),
    }),
    authed<ReasonBody>({
      method: 'POST',
      path: `${V3}/join/:roomIdOrAlias`,
      rateLimit: 'request',
      body: reasonBody,
      handler: async ({ requester, params, queryAll, body }) => {
        const { roomId, via } = await target(params.roomIdOrAlias, queryAll);
        await rooms.join(requester, roomId, body.reason, via);
        return { room_id: roomId };
      },
    }),
    authed<ReasonBody>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/join`,
      guests: true,
      rateLimit: 'request',
      body: reasonBody,
      handler: async ({ requester, params, body }) => {
        await rooms.join(requester, params.roomId, body.reason);
        return { room_id: params.roomId };
      },
    }),
    authed<ReasonBody>({
      method: 'POST',
      path: `${V3}/knock/:roomIdOrAlias`,
      rateLimit: 'request',
      body: reasonBody,
      handler: async ({ requester, params, queryAll, body }) => {
        const { roomId, via } = await target(params.roomIdOrAlias, queryAll);
        await rooms.knock(requester, roomId, body.reason, via);
        return { room_id: roomId };
      },
    }),
    authed<ReasonBody>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/leave`,
      guests: true,
      rateLimit: 'request',
      body: reasonBody,
      handler: async ({ requester, params, body }) => {
        await rooms.leave(requester, params.roomId, body.reason);
        return {};
      },
    }),
    targeted('invite'),
    targeted('kick'),
    targeted('ban'),
    targeted('unban'),
  ];
}


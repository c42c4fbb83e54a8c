/**
 * The membership handshakes other servers call on us (joins-v1.yaml,
 * joins-v2.yaml, leaving-v1.yaml, leaving-v2.yaml, knocks.yaml,
 * invites-v1.yaml, invites-v2.yaml). The v1 send_join, send_leave and invite
 * answer [200, body], a shape kept for servers older than the v2 endpoints.
 */
import { missingParam } from '../../spec/errors';
import { inviteV2Body, type InviteV2Body } from '../../spec/schemas/federation';
import type { Route } from '../../server/http/route';
import { booleanParam } from '../../server/routes/pagination';
import type { ResidentMemberships } from '../memberships/resident';
import { fromServer } from './from-server';

const V1 = '/_matrix/federation/v1';
const V2 = '/_matrix/federation/v2';

/** An invite carries the room's stripped state: room for it beyond one PDU's 64 KiB. */
const MAX_INVITE_BYTES = 1024 * 1024;

export function membershipRoutes(resident: ResidentMemberships): Route<any>[] {
  return [
    fromServer({
      method: 'GET',
      path: `${V1}/make_join/:roomId/:userId`,
      // Without `ver` the origin supports room version 1 only.
      handler: ({ origin, params, queryAll }) => resident.make(origin, params.roomId, params.userId, 'join', queryAll.ver ?? ['1']),
    }),
    fromServer({
      method: 'PUT',
      path: `${V1}/send_join/:roomId/:eventId`,
      handler: async ({ origin, params, body }) => [200, await resident.sendJoin(origin, params.roomId, params.eventId, body)],
    }),
    fromServer({
      method: 'PUT',
      path: `${V2}/send_join/:roomId/:eventId`,
      handler: ({ origin, params, query, body }) =>
        resident.sendJoin(origin, params.roomId, params.eventId, body, { omitMembers: booleanParam('omit_members', query.omit_members) ?? false }),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/make_leave/:roomId/:userId`,
      handler: ({ origin, params }) => resident.make(origin, params.roomId, params.userId, 'leave'),
    }),
    fromServer({
      method: 'PUT',
      path: `${V1}/send_leave/:roomId/:eventId`,
      handler: async ({ origin, params, body }) => {
        await resident.sendLeave(origin, params.roomId, params.eventId, body);
        return [200, {}];
      },
    }),
    fromServer({
      method: 'PUT',
      path: `${V2}/send_leave/:roomId/:eventId`,
      handler: async ({ origin, params, body }) => {
        await resident.sendLeave(origin, params.roomId, params.eventId, body);
        return {};
      },
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/make_knock/:roomId/:userId`,
      handler: ({ origin, params, queryAll }) => {
        if (!queryAll.ver?.length) throw missingParam("Missing required parameter 'ver'");
        return resident.make(origin, params.roomId, params.userId, 'knock', queryAll.ver);
      },
    }),
    fromServer({
      method: 'PUT',
      path: `${V1}/send_knock/:roomId/:eventId`,
      handler: ({ origin, params, body }) => resident.sendKnock(origin, params.roomId, params.eventId, body),
    }),
    fromServer<Record<string, unknown>>({
      method: 'PUT',
      path: `${V1}/invite/:roomId/:eventId`,
      maxBodyBytes: MAX_INVITE_BYTES,
      // v1 is for room versions 1 and 2 (one event format), the stripped state in the event's unsigned.
      handler: async ({ origin, params, body }) => {
        const unsigned = body.unsigned as Record<string, unknown> | undefined;
        const inviteRoomState = typeof unsigned === 'object' && unsigned !== null ? unsigned.invite_room_state : undefined;
        return [200, { event: await resident.invite(origin, params.roomId, params.eventId, { roomVersion: '1', event: body, inviteRoomState }) }];
      },
    }),
    fromServer<InviteV2Body>({
      method: 'PUT',
      path: `${V2}/invite/:roomId/:eventId`,
      maxBodyBytes: MAX_INVITE_BYTES,
      body: inviteV2Body,
      handler: async ({ origin, params, body }) => ({
        event: await resident.invite(origin, params.roomId, params.eventId, { roomVersion: body.room_version, event: body.event, inviteRoomState: body.invite_room_state }),
      }),
    }),
  ];
}

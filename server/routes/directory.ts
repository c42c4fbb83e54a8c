/** Room aliases and the published room directory (directory.yaml, list_public_rooms.yaml). */
import { invalidParam } from '../../spec/errors';
import { aliasBody, directoryVisibilityBody, publicRoomsBody, type PublicRoomsBody } from '../../spec/schemas/rooms';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function directoryRoutes(s: Services): Route<any>[] {
  const { aliases, directory } = s.rooms;

  return [
    authed<{ room_id: string }>({
      method: 'PUT',
      path: `${V3}/directory/room/:roomAlias`,
      body: aliasBody,
      handler: async ({ requester, params, body }) => {
        await aliases.create(requester, params.roomAlias, body.room_id);
        return {};
      },
    }),
    {
      method: 'GET',
      path: `${V3}/directory/room/:roomAlias`,
      auth: 'none',
      // A remote alias is asked of its server (query/directory).
      handler: ({ params }) => s.rooms.lookupAlias(params.roomAlias),
    },
    authed({
      method: 'DELETE',
      path: `${V3}/directory/room/:roomAlias`,
      handler: async ({ requester, params }) => {
        await aliases.delete(requester, params.roomAlias);
        return {};
      },
    }),
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/aliases`,
      rateLimit: 'request',
      handler: async ({ requester, params }) => ({ aliases: await aliases.ofRoom(requester, params.roomId) }),
    }),
    {
      method: 'GET',
      path: `${V3}/directory/list/room/:roomId`,
      auth: 'none',
      handler: async ({ params }) => ({ visibility: await directory.visibility(params.roomId) }),
    },
    authed<{ visibility?: 'public' | 'private' }>({
      method: 'PUT',
      path: `${V3}/directory/list/room/:roomId`,
      body: directoryVisibilityBody,
      handler: async ({ requester, params, body }) => {
        await directory.setVisibility(requester, params.roomId, body.visibility ?? 'public');
        return {};
      },
    }),
    {
      method: 'GET',
      path: `${V3}/publicRooms`,
      auth: s.config.room_directory.require_auth_for_public_rooms ? 'required' : 'optional',
      guests: true,
      handler: ({ query }) => directory.publicRooms({ limit: limitParam(query.limit), since: query.since }, query.server),
    },
    authed<PublicRoomsBody>({
      method: 'POST',
      path: `${V3}/publicRooms`,
      guests: true,
      body: publicRoomsBody,
      handler: ({ query, body }) => directory.publicRooms(body, query.server),
    }),
  ];
}

function limitParam(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw invalidParam("'limit' must be a non-negative integer");
  return Number(value);
}

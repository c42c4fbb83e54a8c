/** Profiles: GET /profile/{userId}, and GET/PUT/DELETE /profile/{userId}/{keyName}. */
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function profileRoutes(s: Services): Route<any>[] {
  return [
    {
      // No access token required (profile.yaml has no security section for the GETs).
      method: 'GET',
      path: `${V3}/profile/:userId`,
      auth: 'optional',
      guests: true,
      handler: ({ params }) => s.profiles.get(params.userId),
    },
    {
      method: 'GET',
      path: `${V3}/profile/:userId/:keyName`,
      auth: 'optional',
      guests: true,
      handler: async ({ params }) => ({ [params.keyName]: await s.profiles.getField(params.userId, params.keyName) }),
    },
    authed<Record<string, unknown>>({
      method: 'PUT',
      path: `${V3}/profile/:userId/:keyName`,
      // Guests may set their displayname only; the service refuses other keys.
      guests: true,
      rateLimit: 'request',
      handler: async ({ requester, params, body }) => {
        await s.profiles.setField(requester, params.userId, params.keyName, body);
        return {};
      },
    }),
    authed({
      method: 'DELETE',
      path: `${V3}/profile/:userId/:keyName`,
      guests: true,
      rateLimit: 'request',
      handler: async ({ requester, params }) => {
        await s.profiles.deleteField(requester, params.userId, params.keyName);
        return {};
      },
    }),
  ];
}

/** PUT and GET /presence/{userId}/status (presence.yaml). */
import { forbidden, invalidParam } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import { presenceBody } from '../../spec/schemas/presence';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const PATH = '/_matrix/client/v3/presence/:userId/status';

function checkUserId(userId: string): void {
  if (!parseUserId(userId)) throw invalidParam(`'${userId}' is not a valid user ID`);
}

export function presenceRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'PUT',
      path: PATH,
      rateLimit: 'request',
      body: presenceBody,
      handler: async ({ requester, params: { userId }, body }) => {
        if (userId !== requester.userId) throw forbidden('Cannot set the presence of another user');
        await s.presence.set(userId, body.presence, body.status_msg ?? null);
        return {};
      },
    }),
    authed({
      method: 'GET',
      path: PATH,
      handler: async ({ requester, params: { userId } }) => {
        checkUserId(userId);
        return s.presence.status(requester.userId, userId);
      },
    }),
  ];
}

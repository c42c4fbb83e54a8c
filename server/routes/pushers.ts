/** Pushers (pusher.yaml): GET /pushers and POST /pushers/set. */
import { pusherBody } from '../../spec/schemas/push';
import type { PusherBody } from '../../spec/push/pusher';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function pusherRoutes(s: Services): Route<any>[] {
  const { pushers } = s.push;
  return [
    authed({ method: 'GET', path: `${V3}/pushers`, handler: ({ requester }) => pushers.list(requester.userId) }),
    authed<PusherBody>({
      method: 'POST',
      path: `${V3}/pushers/set`,
      rateLimit: 'request',
      body: pusherBody,
      handler: async ({ requester, body }) => {
        await pushers.set(requester, body);
        return {};
      },
    }),
  ];
}

/** POST /rooms/{roomId}/forget (leaving.yaml). */
import { authed, type Route } from '../http/route';
import { forgetRoom } from '../rooms/forget';
import type { Services } from '../services';

export function forgetRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'POST',
      path: '/_matrix/client/v3/rooms/:roomId/forget',
      rateLimit: 'request',
      handler: async ({ requester, params }) => {
        await forgetRoom(s.stores, requester, params.roomId);
        return {};
      },
    }),
  ];
}

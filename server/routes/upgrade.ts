/** Room upgrades: POST /rooms/{roomId}/upgrade (room_upgrades.yaml). */
import { upgradeBody, type UpgradeBody } from '../../spec/schemas/rooms';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function upgradeRoutes(s: Services): Route<any>[] {
  return [
    authed<UpgradeBody>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/upgrade`,
      body: upgradeBody,
      handler: async ({ requester, params, body }) => ({ replacement_room: await s.rooms.upgrade(requester, params.roomId, body) }),
    }),
  ];
}

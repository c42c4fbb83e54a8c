/** GET /capabilities: what this server lets the requesting user do. */
import { ROOM_VERSIONS } from '../../spec/room-versions';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function capabilitiesRoutes(_s: Services): Route<any>[] {
  return [
    authed({
      method: 'GET',
      path: `${V3}/capabilities`,
      guests: true,
      rateLimit: 'request',
      handler: ({ requester }) => {
        // Guests may change their displayname and nothing else in their profile (guest access module).
        const profileFields = requester.isGuest ? { enabled: true, allowed: ['displayname'] } : { enabled: true };
        return {
          capabilities: {
            'm.change_password': { enabled: true },
            'm.room_versions': { default: ROOM_VERSIONS.default, available: { ...ROOM_VERSIONS.available } },
            'm.profile_fields': profileFields,
            'm.set_displayname': { enabled: true },
            'm.set_avatar_url': { enabled: !requester.isGuest },
            'm.3pid_changes': { enabled: false },
            'm.get_login_token': { enabled: false },
          },
        };
      },
    }),
  ];
}

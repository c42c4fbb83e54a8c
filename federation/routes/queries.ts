/**
 * Questions other servers ask that are not about room events: who this server
 * is (version.yaml), aliases and profiles (query.yaml), the published room
 * directory (public_rooms.yaml), local users' devices and keys
 * (user_devices.yaml, user_keys.yaml), and OpenID user info (openid.yaml).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimKeysBody, queryKeysBody, type ClaimKeysBody, type QueryKeysBody } from '../../spec/schemas/keys';
import { publicRoomsBody, type PublicRoomsBody } from '../../spec/schemas/rooms';
import type { Route } from '../../server/http/route';
import { booleanParam } from '../../server/routes/pagination';
import type { Services } from '../../server/services';
import type { LocalUsers } from '../reads/local-users';
import { fromServer } from './from-server';
import { optionalLimit, requiredParam } from './params';

const V1 = '/_matrix/federation/v1';

/** This implementation's name and version, from package.json. */
function serverVersion(): { name: string; version: string } {
  const file = join(__dirname, '..', '..', '..', 'package.json');
  return { name: 'Weft', version: (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version };
}

export function queryRoutes(s: Pick<Services, 'rooms' | 'openid'>, users: LocalUsers): Route<any>[] {
  const server = serverVersion();
  return [
    {
      method: 'GET',
      path: `${V1}/version`,
      auth: 'none',
      handler: () => ({ server }),
    },
    fromServer({
      method: 'GET',
      path: `${V1}/query/directory`,
      handler: ({ query }) => s.rooms.aliases.resolve(requiredParam('room_alias', query.room_alias)),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/query/profile`,
      handler: ({ query }) => users.profile(requiredParam('user_id', query.user_id), query.field),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/publicRooms`,
      handler: ({ query }) => {
        // A limit of 0 means no limit here (public_rooms.yaml), unlike the client API's.
        const limit = optionalLimit(query.limit);
        const thirdPartyInstanceId = query.third_party_instance_id;
        return s.rooms.directory.publicRooms({
          limit: limit === 0 ? undefined : limit,
          since: query.since,
          include_all_networks: booleanParam('include_all_networks', query.include_all_networks),
          ...(thirdPartyInstanceId === undefined ? {} : { third_party_instance_id: thirdPartyInstanceId }),
        }, undefined);
      },
    }),
    fromServer<PublicRoomsBody>({
      method: 'POST',
      path: `${V1}/publicRooms`,
      body: publicRoomsBody,
      handler: ({ body }) => s.rooms.directory.publicRooms(body, undefined),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/user/devices/:userId`,
      handler: ({ params }) => users.devices(params.userId),
    }),
    fromServer<QueryKeysBody>({
      method: 'POST',
      path: `${V1}/user/keys/query`,
      body: queryKeysBody,
      handler: ({ body }) => users.queryKeys(body),
    }),
    fromServer<ClaimKeysBody>({
      method: 'POST',
      path: `${V1}/user/keys/claim`,
      body: claimKeysBody,
      handler: ({ body }) => users.claimKeys(body),
    }),
    {
      // Called by third parties holding a user's OpenID token, not by servers: no signature (openid.yaml).
      method: 'GET',
      path: `${V1}/openid/userinfo`,
      auth: 'none',
      handler: ({ query }) => s.openid.userInfo(query.access_token),
    },
  ];
}

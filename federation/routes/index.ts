/**
 * The federation endpoints that answer other servers' questions (reads,
 * queries and the space hierarchy; docs/federation.md, "Endpoints other
 * servers call"). Each needs a signed request except /version and
 * /openid/userinfo.
 */
import type { Route } from '../../server/http/route';
import type { Services } from '../../server/services';
import { HierarchyReads } from '../reads/hierarchy';
import { LocalUsers } from '../reads/local-users';
import { RoomReads } from '../reads/room-reads';
import { ServerAccess } from '../reads/server-access';
import { eventRoutes } from './events';
import { hierarchyRoutes } from './hierarchy';
import { queryRoutes } from './queries';

export function federationReadRoutes(services: Services): Route<any>[] {
  const access = new ServerAccess(services.stores);
  const reads = new RoomReads(services.stores, access, services.config.server_name);
  return [
    ...eventRoutes(reads),
    ...queryRoutes(services, new LocalUsers(services)),
    ...hierarchyRoutes(new HierarchyReads(services.stores, services.spaces.local)),
  ];
}

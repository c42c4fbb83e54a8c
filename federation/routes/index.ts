/**
 * The federation endpoints that answer other servers' questions (reads and
 * queries; docs/federation.md, "Endpoints other servers call"). Each needs a
 * signed request except /version and /openid/userinfo.
 */
import type { Route } from '../../server/http/route';
import type { Services } from '../../server/services';
import { LocalUsers } from '../reads/local-users';
import { RoomReads } from '../reads/room-reads';
import { ServerAccess } from '../reads/server-access';
import { eventRoutes } from './events';
import { queryRoutes } from './queries';

export function federationReadRoutes(services: Services): Route<any>[] {
  const access = new ServerAccess(services.stores);
  const reads = new RoomReads(services.stores, access, services.config.server_name);
  return [...eventRoutes(reads), ...queryRoutes(services, new LocalUsers(services))];
}

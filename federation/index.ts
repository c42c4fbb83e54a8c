/**
 * The Server-Server API (docs/federation.md). The composition root
 * (server/homeserver.ts) builds it once the services exist: it serves the
 * federation and key routes, authenticates other servers' requests, and
 * subscribes to the room engine's events to send them on. Nothing else in
 * server/ imports federation/.
 */
import type { Logger } from '../server/log';
import type { Route } from '../server/http/route';
import type { ServerRequest } from '../server/http/app';
import type { Services } from '../server/services';
import { MatrixError } from '../spec/errors';

export interface Federation {
  /** Routes for listeners with the `federation` resource: /_matrix/federation/* and /_matrix/key/*. */
  routes: Route<any>[];
  /** Checks a request's X-Matrix signature; resolves with the origin server's name, or throws 401 M_UNAUTHORIZED. */
  authenticateServer(request: ServerRequest): Promise<string>;
  /** Stops outbound work; called before the database closes. */
  stop(): Promise<void>;
}

export function createFederation(_services: Services, _log: Logger): Federation {
  return {
    routes: [],
    authenticateServer: async () => {
      throw new MatrixError(401, 'M_UNAUTHORIZED', 'Federation is not available yet');
    },
    stop: async () => {},
  };
}

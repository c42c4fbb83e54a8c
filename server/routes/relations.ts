/**
 * Event relationships and threads (relations.yaml, threads_list.yaml):
 * GET /relations/{eventId}[/{relType}[/{eventType}]] and GET /threads.
 */
import { invalidParam } from '../../spec/errors';
import { authed, type AuthedRequest, type Route } from '../http/route';
import type { Services } from '../services';
import { booleanParam, dirParam, limitParam, tokenParam } from './pagination';

const V1 = '/_matrix/client/v1';

/** Children per page when the request does not say (as Synapse). */
const DEFAULT_RELATIONS_LIMIT = 5;
/** Thread roots per page when the request does not say (as Synapse). */
const DEFAULT_THREADS_LIMIT = 5;

export function relationRoutes(s: Services): Route<any>[] {
  const { relations } = s;
  const children = ({ requester, params, query }: AuthedRequest<unknown>) =>
    relations.children(requester, params.roomId, params.eventId, {
      relType: params.relType,
      eventType: params.eventType,
      from: tokenParam(query.from),
      to: tokenParam(query.to),
      dir: dirParam(query.dir, 'b'),
      limit: limitParam(query.limit, DEFAULT_RELATIONS_LIMIT),
      recurse: booleanParam('recurse', query.recurse),
    });
  return [
    authed({ method: 'GET', path: `${V1}/rooms/:roomId/relations/:eventId`, handler: children }),
    authed({ method: 'GET', path: `${V1}/rooms/:roomId/relations/:eventId/:relType`, handler: children }),
    authed({ method: 'GET', path: `${V1}/rooms/:roomId/relations/:eventId/:relType/:eventType`, handler: children }),
    authed({
      method: 'GET',
      path: `${V1}/rooms/:roomId/threads`,
      rateLimit: 'request',
      handler: ({ requester, params, query }) => {
        const include = query.include ?? 'all';
        if (include !== 'all' && include !== 'participated') throw invalidParam("'include' must be 'all' or 'participated'");
        return relations.threads(requester, params.roomId, {
          include,
          from: tokenParam(query.from),
          limit: limitParam(query.limit, DEFAULT_THREADS_LIMIT, 1),
        });
      },
    }),
  ];
}

/** Spaces: GET /_matrix/client/v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml). */
import { invalidParam } from '../../spec/errors';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import { HIERARCHY_LIMITS } from '../spaces/hierarchy';
import { booleanParam, limitParam } from './pagination';

const V1 = '/_matrix/client/v1';

export function spaceRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'GET',
      path: `${V1}/rooms/:roomId/hierarchy`,
      rateLimit: 'request',
      handler: ({ requester, params, query }) =>
        s.spaces.page(requester, params.roomId, {
          suggestedOnly: booleanParam('suggested_only', query.suggested_only) ?? false,
          limit: limitParam(query.limit, HIERARCHY_LIMITS.defaultLimit, 1),
          maxDepth: maxDepthParam(query.max_depth),
          from: query.from,
        }),
    }),
  ];
}

/** `max_depth`: a non-negative integer, else 400 M_INVALID_PARAM. */
function maxDepthParam(value: string | undefined): number {
  if (value === undefined) return HIERARCHY_LIMITS.defaultMaxDepth;
  if (!/^[0-9]{1,9}$/.test(value)) throw invalidParam("'max_depth' must be a non-negative integer");
  return Number(value);
}

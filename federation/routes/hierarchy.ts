/** Spaces over federation: GET /_matrix/federation/v1/hierarchy/{roomId} (space_hierarchy.yaml). */
import type { Route } from '../../server/http/route';
import { booleanParam } from '../../server/routes/pagination';
import type { HierarchyReads } from '../reads/hierarchy';
import { fromServer } from './from-server';

export function hierarchyRoutes(reads: HierarchyReads): Route<any>[] {
  return [
    fromServer({
      method: 'GET',
      path: '/_matrix/federation/v1/hierarchy/:roomId',
      handler: ({ origin, params, query }) => reads.answer(origin, params.roomId, booleanParam('suggested_only', query.suggested_only) ?? false),
    }),
  ];
}

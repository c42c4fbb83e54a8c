/** Filters: POST /user/{userId}/filter and GET /user/{userId}/filter/{filterId}. */
import { forbidden } from '../../spec/errors';
import { filterBody, type FilterJson } from '../../spec/schemas/filter';
import { authed, type Requester, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

function requireSelf(requester: Requester, userId: string): void {
  if (userId !== requester.userId) throw forbidden('Cannot use filters of another user');
}

export function filterRoutes(s: Services): Route<any>[] {
  return [
    authed<FilterJson>({
      method: 'POST',
      path: `${V3}/user/:userId/filter`,
      // Guests may /sync, which takes filters (Synapse lets guests upload them too).
      guests: true,
      body: filterBody,
      handler: async ({ requester, params, body }) => {
        requireSelf(requester, params.userId);
        return { filter_id: await s.filters.create(requester.userId, body) };
      },
    }),
    authed({
      method: 'GET',
      path: `${V3}/user/:userId/filter/:filterId`,
      guests: true,
      handler: ({ requester, params }) => {
        requireSelf(requester, params.userId);
        return s.filters.getDefinition(requester.userId, params.filterId);
      },
    }),
  ];
}

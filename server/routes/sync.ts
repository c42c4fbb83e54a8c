/** GET /sync (sync.yaml). */
import { invalidParam } from '../../spec/errors';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import type { PresenceSetting } from '../sync/stream';
import { parseSyncToken } from '../sync/token';
import { booleanParam } from './pagination';

/** A long-poll never waits longer than this, whatever `timeout` asks. */
const MAX_TIMEOUT_MS = 5 * 60 * 1000;

const PRESENCE: ReadonlySet<string> = new Set(['online', 'offline', 'unavailable']);

function timeoutParam(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^[0-9]{1,16}$/.test(value)) throw invalidParam("'timeout' must be a non-negative integer");
  return Math.min(Number(value), MAX_TIMEOUT_MS);
}

function presenceParam(value: string | undefined): PresenceSetting | undefined {
  if (value === undefined) return undefined;
  if (!PRESENCE.has(value)) throw invalidParam("'set_presence' must be 'online', 'offline' or 'unavailable'");
  return value as PresenceSetting;
}

export function syncRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'GET',
      path: '/_matrix/client/v3/sync',
      guests: true,
      handler: async ({ requester, query, signal }) => {
        const since = query.since === undefined || query.since === '' ? undefined : parseSyncToken(query.since);
        const { response } = await s.sync.sync({
          requester,
          filter: await s.filters.resolve(requester.userId, query.filter),
          since,
          fullState: booleanParam('full_state', query.full_state) ?? false,
          useStateAfter: booleanParam('use_state_after', query.use_state_after) ?? false,
          timeoutMs: timeoutParam(query.timeout),
          setPresence: presenceParam(query.set_presence),
          signal,
        });
        return response;
      },
    }),
  ];
}

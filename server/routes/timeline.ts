/**
 * Reading a room's timeline (message_pagination.yaml, event_context.yaml,
 * room_event_by_timestamp.yaml): GET /messages, GET /context/{eventId} and
 * GET /timestamp_to_event.
 */
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import { dirParam, integerParam, pageLimit, roomEventFilterParam, tokenParam } from './pagination';

const V3 = '/_matrix/client/v3';
const V1 = '/_matrix/client/v1';

/** Events per page when neither the request nor its filter says. */
const DEFAULT_LIMIT = 10;

export function timelineRoutes(s: Services): Route<any>[] {
  const { timeline } = s;
  return [
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/messages`,
      guests: true,
      handler: ({ requester, params, query }) => {
        const dir = dirParam(query.dir);
        const filter = roomEventFilterParam(query.filter);
        return timeline.messages(requester, params.roomId, {
          from: tokenParam(query.from),
          to: tokenParam(query.to),
          dir,
          limit: pageLimit(query.limit, filter, DEFAULT_LIMIT),
          filter,
        });
      },
    }),
    authed({
      method: 'GET',
      path: `${V3}/rooms/:roomId/context/:eventId`,
      guests: true,
      handler: ({ requester, params, query }) => {
        const filter = roomEventFilterParam(query.filter);
        return timeline.context(requester, params.roomId, params.eventId, { limit: pageLimit(query.limit, filter, DEFAULT_LIMIT), filter });
      },
    }),
    authed({
      method: 'GET',
      path: `${V1}/rooms/:roomId/timestamp_to_event`,
      rateLimit: 'request',
      handler: ({ requester, params, query }) => {
        const ts = integerParam('ts', query.ts);
        return timeline.eventAt(requester, params.roomId, ts, dirParam(query.dir));
      },
    }),
  ];
}

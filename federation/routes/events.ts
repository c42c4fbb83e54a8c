/**
 * Room events for other servers (events.yaml, event_auth.yaml, backfill.yaml):
 * /event, /state, /state_ids, /event_auth, /backfill, /get_missing_events and
 * /timestamp_to_event. RoomReads decides what the origin server may see.
 */
import { missingParam } from '../../spec/errors';
import { missingEventsBody, type MissingEventsBody } from '../../spec/schemas/federation';
import type { Route } from '../../server/http/route';
import { dirParam, integerParam } from '../../server/routes/pagination';
import type { RoomReads } from '../reads/room-reads';
import { fromServer } from './from-server';
import { requiredParam } from './params';

const V1 = '/_matrix/federation/v1';

export function eventRoutes(reads: RoomReads): Route<any>[] {
  return [
    fromServer({
      method: 'GET',
      path: `${V1}/event/:eventId`,
      handler: ({ origin, params }) => reads.event(origin, params.eventId),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/state/:roomId`,
      handler: ({ origin, params, query }) => reads.state(origin, params.roomId, requiredParam('event_id', query.event_id)),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/state_ids/:roomId`,
      handler: ({ origin, params, query }) => reads.stateIds(origin, params.roomId, requiredParam('event_id', query.event_id)),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/event_auth/:roomId/:eventId`,
      handler: ({ origin, params }) => reads.eventAuth(origin, params.roomId, params.eventId),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/backfill/:roomId`,
      handler: ({ origin, params, query, queryAll }) => {
        const from = (queryAll.v ?? []).filter((id) => id !== '');
        if (from.length === 0) throw missingParam("Missing required parameter 'v'");
        return reads.backfill(origin, params.roomId, from, Math.max(0, integerParam('limit', query.limit)));
      },
    }),
    fromServer<MissingEventsBody>({
      method: 'POST',
      path: `${V1}/get_missing_events/:roomId`,
      body: missingEventsBody,
      handler: ({ origin, params, body }) => reads.missingEvents(origin, params.roomId, body),
    }),
    fromServer({
      method: 'GET',
      path: `${V1}/timestamp_to_event/:roomId`,
      handler: ({ origin, params, query }) => reads.eventAt(origin, params.roomId, integerParam('ts', query.ts), dirParam(query.dir)),
    }),
  ];
}

/**
 * The room engine's RemoteEventSource (server/rooms/remote-hooks.ts) over
 * federation requests: what it asks the server an event came from.
 */
import type { EventAuthResponse, EventResponse, MissingEventsResponse, RemoteEventSource, StateIdsResponse } from '../server/rooms/remote-hooks';
import type { FederationClient } from './client';

const V1 = '/_matrix/federation/v1';
const enc = encodeURIComponent;

export function remoteEventSource(client: FederationClient): RemoteEventSource {
  return {
    event: (origin, eventId) => client.get<EventResponse>(origin, `${V1}/event/${enc(eventId)}`),
    eventAuth: (origin, roomId, eventId) => client.get<EventAuthResponse>(origin, `${V1}/event_auth/${enc(roomId)}/${enc(eventId)}`),
    stateIds: (origin, roomId, eventId) => client.get<StateIdsResponse>(origin, `${V1}/state_ids/${enc(roomId)}`, { query: { event_id: eventId } }),
    getMissingEvents: (origin, roomId, earliest, latest, limit, minDepth) =>
      client.post<MissingEventsResponse>(origin, `${V1}/get_missing_events/${enc(roomId)}`, {
        earliest_events: earliest,
        latest_events: latest,
        limit,
        min_depth: minDepth,
      }),
  };
}

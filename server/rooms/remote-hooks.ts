/**
 * What the room engine needs from federation to accept remote events, as
 * interfaces: federation/ implements them (remote keys, HTTP requests) and
 * hands them to RemoteEvents.setFederationHooks, so server/ never imports it.
 * The answers have the shapes of the Server-Server API responses.
 */
import type { Pdu } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';

/**
 * Checks the signatures a received event must carry ("Validating hashes and
 * signatures on received events"): the sender's server's, (v1-v2) the event
 * ID's server's, with keys valid at origin_server_ts where the version says.
 */
export interface EventSignatureVerifier {
  /** False when a required signature is missing or invalid, or its key cannot be had. */
  verify(pdu: Pdu, version: RoomVersion): Promise<boolean>;
}

/** GET /_matrix/federation/v1/event/{eventId}: a transaction holding the one PDU. */
export interface EventResponse {
  origin?: string;
  origin_server_ts?: number;
  pdus: unknown[];
}

/** GET /_matrix/federation/v1/event_auth/{roomId}/{eventId}. */
export interface EventAuthResponse {
  auth_chain: unknown[];
}

/** GET /_matrix/federation/v1/state_ids/{roomId}?event_id=: the state before the event, and its auth chain. */
export interface StateIdsResponse {
  pdu_ids: string[];
  auth_chain_ids: string[];
}

/** POST /_matrix/federation/v1/get_missing_events/{roomId}. */
export interface MissingEventsResponse {
  events: unknown[];
}

/**
 * Requests to the server an event came from. Each may reject (network error,
 * error response): the engine then goes on without the answer.
 */
export interface RemoteEventSource {
  event(origin: string, eventId: string): Promise<EventResponse>;
  eventAuth(origin: string, roomId: string, eventId: string): Promise<EventAuthResponse>;
  stateIds(origin: string, roomId: string, eventId: string): Promise<StateIdsResponse>;
  getMissingEvents(
    origin: string,
    roomId: string,
    earliest: readonly string[],
    latest: readonly string[],
    limit: number,
    minDepth: number,
  ): Promise<MissingEventsResponse>;
}

export interface FederationHooks {
  verifier: EventSignatureVerifier;
  source: RemoteEventSource;
}

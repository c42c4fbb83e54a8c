/**
 * Persistent data units: room events as servers sign, hash and exchange them
 * (server-server-api.md, "PDUs"; rooms/ for the per-version formats).
 */
import type { RoomVersion } from './room-versions';

/** v1-v2 reference other events as [event_id, {sha256: hash}] pairs; v3+ by event ID alone. */
export type EventReference = string | [string, Record<string, string>];

/** A PDU in its wire form. Room versions 3+ have no event_id field: the ID is derived from the hashes. */
export interface Pdu {
  /** Present only in room versions 1 and 2. */
  event_id?: string;
  /** Absent only on the m.room.create event of room version 12, whose ID is the room's. */
  room_id?: string;
  sender: string;
  origin_server_ts: number;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  prev_events: EventReference[];
  auth_events: EventReference[];
  depth: number;
  hashes: { sha256: string; [algorithm: string]: string };
  signatures: Record<string, Record<string, string>>;
  unsigned?: Record<string, unknown>;
  /** m.room.redaction before room version 11 (moved into content in v11). */
  redacts?: string;
  /** Legacy top-level keys some servers still send (v1-v10 keep them through redaction). */
  origin?: string;
  membership?: string;
  prev_state?: unknown;
  [key: string]: unknown;
}

/** A PDU together with its event ID, as the server handles it in memory. */
export interface RoomEvent {
  readonly id: string;
  readonly pdu: Pdu;
}

/** The ID of a referenced event, whatever the room version's reference format. */
export function referencedId(ref: EventReference): string {
  return typeof ref === 'string' ? ref : ref[0];
}

export const prevEventIds = (pdu: Pdu): string[] => pdu.prev_events.map(referencedId);
export const authEventIds = (pdu: Pdu): string[] => pdu.auth_events.map(referencedId);

export const isStateEvent = (pdu: Pdu): boolean => pdu.state_key !== undefined;

/**
 * The key of a state entry: (event type, state key). Opaque to callers; event
 * types containing NUL are refused at format checking, so it is unambiguous.
 */
export type StateTuple = string;

export function stateTuple(type: string, stateKey: string): StateTuple {
  return `${type}\u0000${stateKey}`;
}

export function splitStateTuple(tuple: StateTuple): { type: string; stateKey: string } {
  const nul = tuple.indexOf('\u0000');
  return { type: tuple.slice(0, nul), stateKey: tuple.slice(nul + 1) };
}

/** Room state: (type, state key) → the event ID holding it. */
export type StateMap = Map<StateTuple, string>;

/** Room state with the events themselves, as the auth rules read it. */
export type StateEvents = Map<StateTuple, RoomEvent>;

/** Why an event fails the authorisation rules (rooms/, "Authorization rules"). */
export class AuthError extends Error {}

/**
 * Checks `event` against `authState` (the state it is authorised by: its auth
 * events, or the room state before it) under the room version's rules; throws
 * AuthError with the failed rule's reason. spec/auth-rules.ts implements it;
 * state resolution takes it as a parameter.
 */
export type Authorize = (event: RoomEvent, authState: StateEvents, version: RoomVersion) => void;

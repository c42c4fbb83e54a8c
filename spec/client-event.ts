/**
 * The client format of room events (definitions/client_event.yaml): what
 * /messages, /sync, /event, /context and /state return.
 */
import type { Pdu } from './pdu';

export interface ClientEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  room_id?: string;
  state_key?: string;
  /** m.room.redaction: kept at top level for clients of every room version (it moved into content in v11). */
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface ClientEventOptions {
  /** The room the event is in (an m.room.create of room version 12 carries none itself). */
  roomId: string;
  /** Omit room_id, for /sync where the room is implied. */
  withoutRoomId?: boolean;
  /** Server time now, for `unsigned.age`. */
  nowMs: number;
  /** Extra unsigned keys: prev_content, transaction_id, membership, redacted_because, m.relations. */
  unsigned?: Record<string, unknown>;
}

/**
 * Formats a PDU (already redacted by the caller if a redaction applies) for clients.
 */
export function toClientEvent(eventId: string, pdu: Pdu, options: ClientEventOptions): ClientEvent {
  const event: ClientEvent = {
    event_id: eventId,
    type: pdu.type,
    sender: pdu.sender,
    origin_server_ts: pdu.origin_server_ts,
    content: pdu.content,
  };
  if (!options.withoutRoomId) event.room_id = options.roomId;
  if (pdu.state_key !== undefined) event.state_key = pdu.state_key;
  if (pdu.type === 'm.room.redaction') {
    const redacts = pdu.redacts ?? pdu.content.redacts;
    if (typeof redacts === 'string') event.redacts = redacts;
  }
  event.unsigned = { ...options.unsigned, age: Math.max(0, options.nowMs - pdu.origin_server_ts) };
  return event;
}

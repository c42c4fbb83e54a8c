/**
 * Unsigned, unhashed test PDUs for storage tests: just the fields the event
 * store reads, with made-up event IDs. Depth is one more than the deepest prev event.
 */
import type { Pdu, RoomEvent } from '../../spec/pdu';

let counter = 0;

export interface PduSpec {
  type?: string;
  stateKey?: string;
  sender?: string;
  content?: Record<string, unknown>;
  prev?: readonly RoomEvent[];
  auth?: readonly RoomEvent[];
  /** Extra or overriding PDU keys. */
  pdu?: Partial<Pdu>;
}

export function pdu(roomId: string, spec: PduSpec = {}): RoomEvent {
  counter += 1;
  const prev = spec.prev ?? [];
  const event: Pdu = {
    room_id: roomId,
    sender: spec.sender ?? '@alice:test',
    origin_server_ts: 1_700_000_000_000 + counter,
    type: spec.type ?? 'm.room.message',
    ...(spec.stateKey === undefined ? {} : { state_key: spec.stateKey }),
    content: spec.content ?? (spec.stateKey === undefined ? { msgtype: 'm.text', body: `message ${counter}` } : {}),
    prev_events: prev.map((e) => e.id),
    auth_events: (spec.auth ?? []).map((e) => e.id),
    depth: prev.reduce((d, e) => Math.max(d, e.pdu.depth), 0) + 1,
    hashes: { sha256: 'dGVzdA' },
    signatures: {},
    ...spec.pdu,
  };
  return { id: `$test${counter}_${Math.random().toString(36).slice(2, 8)}`, pdu: event };
}

/** A state event. */
export const statePdu = (roomId: string, type: string, stateKey: string, spec: PduSpec = {}): RoomEvent => pdu(roomId, { ...spec, type, stateKey });

/** A fresh room ID. */
export const roomId = (): string => `!room${++counter}_${Math.random().toString(36).slice(2, 8)}:test`;

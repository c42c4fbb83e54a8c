/**
 * The first three checks on receipt of a PDU (server-server-api, "Checks
 * performed on receipt of a PDU"): format, signatures, content hash; and the
 * orders in which received events can be processed (parents first).
 */
import { createEventImpliedByRoomId } from '../../spec/auth-events';
import { MatrixError } from '../../spec/errors';
import { checkEventFormat, type FormatOptions } from '../../spec/event-format';
import { checkContentHash, computeEventId, createEventIdOfRoom, roomIdOfCreateEvent } from '../../spec/event-hashes';
import { authEventIds, prevEventIds, type Pdu, type RoomEvent } from '../../spec/pdu';
import { redact } from '../../spec/redaction';
import type { RoomVersion } from '../../spec/room-versions';
import { MinHeap } from '../../spec/state-resolution/min-heap';
import type { EventSignatureVerifier } from './remote-hooks';

/** A received event that passed checks 1-3. `redacted`: its content hash did not match, so this is the redacted copy. */
export interface CheckedEvent extends RoomEvent {
  readonly redacted: boolean;
}

export type CheckResult = { ok: true; event: CheckedEvent } | { ok: false; eventId?: string; reason: string };

/**
 * Checks 1-3: a malformed event, or one without valid signatures, is dropped
 * (not stored); one whose content hash does not match is kept redacted. The
 * `unsigned` a remote server sends is not ours to serve, so it is removed.
 */
export async function checkReceivedPdu(
  raw: unknown,
  roomId: string,
  version: RoomVersion,
  verifier: EventSignatureVerifier,
  format: FormatOptions = {},
): Promise<CheckResult> {
  let eventId: string;
  try {
    checkEventFormat(raw, version, format);
    eventId = computeEventId(raw, version);
  } catch (err) {
    if (err instanceof MatrixError) return { ok: false, reason: `malformed: ${err.message}` };
    throw err;
  }
  const { unsigned: _unsigned, ...pdu } = raw as Pdu;
  if (roomIdOf(pdu, version) !== roomId) return { ok: false, eventId, reason: 'the event is not in this room' };
  let signed: boolean;
  try {
    signed = await verifier.verify(pdu, version);
  } catch {
    signed = false;
  }
  if (!signed) return { ok: false, eventId, reason: 'signature check failed' };
  if (checkContentHash(pdu)) return { ok: true, event: { id: eventId, pdu, redacted: false } };
  return { ok: true, event: { id: eventId, pdu: redact(pdu, version), redacted: true } };
}

/** The room an event belongs to: its room_id, or for the create event of version 12 the ID derived from it. */
function roomIdOf(pdu: Pdu, version: RoomVersion): string | undefined {
  if (pdu.type === 'm.room.create' && version.eventFormat === 'v12') return roomIdOfCreateEvent(pdu, version);
  return pdu.room_id;
}

/** The events an event's authorisation reads: its auth_events, plus from version 12 the create event its room ID names. */
export function authDependencies(event: RoomEvent, version: RoomVersion): string[] {
  const ids = authEventIds(event.pdu);
  if (createEventImpliedByRoomId(version) && event.pdu.type !== 'm.room.create' && typeof event.pdu.room_id === 'string') {
    const create = createEventIdOfRoom(event.pdu.room_id, version);
    if (create !== undefined && !ids.includes(create)) ids.push(create);
  }
  return ids;
}

/**
 * `events` ordered so that each comes after those of them it depends on
 * (`dependencies`), ties broken by depth then ID; events caught in a cycle
 * come last, in the same tie order (their checks will refuse them).
 */
export function dependencyOrder<T extends RoomEvent>(events: Iterable<T>, dependencies: (event: T) => readonly string[]): T[] {
  const byId = new Map<string, T>();
  for (const event of events) byId.set(event.id, event);
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const event of byId.values()) {
    const inSet = [...new Set(dependencies(event))].filter((id) => id !== event.id && byId.has(id));
    waitingOn.set(event.id, inSet.length);
    for (const id of inSet) {
      const list = dependents.get(id);
      if (list) list.push(event.id);
      else dependents.set(id, [event.id]);
    }
  }
  const tieOrder = (a: T, b: T) => a.pdu.depth - b.pdu.depth || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const ready = new MinHeap<T>((a, b) => tieOrder(a, b) < 0);
  for (const event of byId.values()) if (waitingOn.get(event.id) === 0) ready.push(event);
  const out: T[] = [];
  for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
    out.push(next);
    for (const id of dependents.get(next.id) ?? []) {
      const left = waitingOn.get(id)! - 1;
      waitingOn.set(id, left);
      if (left === 0) ready.push(byId.get(id)!);
    }
  }
  if (out.length < byId.size) {
    const placed = new Set(out.map((e) => e.id));
    out.push(...[...byId.values()].filter((e) => !placed.has(e.id)).sort(tieOrder));
  }
  return out;
}

/** Parents first: for a batch of timeline events (a transaction's PDUs, missing events). */
export const dagOrder = <T extends RoomEvent>(events: Iterable<T>): T[] => dependencyOrder(events, (e) => prevEventIds(e.pdu));

/** Auth events first: for outliers (auth chains, fetched state). */
export const authOrder = <T extends RoomEvent>(events: Iterable<T>, version: RoomVersion): T[] =>
  dependencyOrder(events, (e) => authDependencies(e, version));

/**
 * Event hashes and the identifiers derived from them (server-server-api,
 * "Calculating the content hash for an event" and "Calculating the reference
 * hash for an event"; rooms/ fragments v1-event-ids, v4-event-ids and room
 * version 3's event IDs; appendices "Room IDs" for room version 12).
 *
 * Hashing encodes leniently: lenient canonical JSON is byte for byte the strict
 * encoding whenever the strict one exists, and refusing non-compliant events
 * is checkEventFormat's job, not the hash's.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { badJson } from './errors';
import type { Pdu } from './pdu';
import { redactedView } from './redaction';
import type { RoomVersion } from './room-versions';
import { decodeBase64, unpaddedBase64, urlSafeUnpaddedBase64 } from './signing-key';

const LENIENT = { strict: false };

function sha256OfCanonicalJson(value: unknown): Buffer {
  return createHash('sha256').update(canonicalJson(value, LENIENT), 'utf8').digest();
}

/** SHA-256 of the event without `unsigned`, `signatures` and `hashes`: it covers the unredacted content. */
export function contentHash(event: object): Buffer {
  const { unsigned: _unsigned, signatures: _signatures, hashes: _hashes, ...covered } = event as Record<string, unknown>;
  return sha256OfCanonicalJson(covered);
}

/** `T` with `hashes` typed as a PDU's. */
export type Hashed<T> = { [K in keyof T as K extends 'hashes' ? never : K]: T[K] } & { hashes: Pdu['hashes'] };

/** A copy of `event` whose `hashes.sha256` is its content hash (other algorithms' hashes are kept). */
export function addContentHash<T extends object>(event: T): Hashed<T> {
  const existing = (event as { hashes?: unknown }).hashes;
  const hashes = typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? existing : {};
  return { ...event, hashes: { ...hashes, sha256: unpaddedBase64(contentHash(event)) } } as Hashed<T>;
}

/** Whether `hashes.sha256` (Base64, padded or not) matches the event's content hash. */
export function checkContentHash(pdu: Pdu): boolean {
  const claimed = typeof pdu.hashes?.sha256 === 'string' ? decodeBase64(pdu.hashes.sha256) : null;
  return claimed !== null && claimed.equals(contentHash(pdu));
}

/** SHA-256 of the redacted event without `signatures` and `unsigned`: it covers the essential keys and the content hash. */
export function referenceHash(event: object, version: RoomVersion): Buffer {
  const { signatures: _signatures, unsigned: _unsigned, ...covered } = redactedView(event, version);
  return sha256OfCanonicalJson(covered);
}

/**
 * The event's ID: the `event_id` it carries (v1-v2), else `$` and its reference
 * hash in unpadded Base64 (v3) or URL-safe unpadded Base64 (v4+).
 */
export function computeEventId(pdu: Pdu, version: RoomVersion): string {
  switch (version.eventIdFormat) {
    case 'v1':
      if (typeof pdu.event_id !== 'string') throw badJson(`events in room version ${version.id} must carry an event_id`);
      return pdu.event_id;
    case 'v3':
      return '$' + unpaddedBase64(referenceHash(pdu, version));
    case 'v4':
      return '$' + urlSafeUnpaddedBase64(referenceHash(pdu, version));
  }
}

/**
 * The ID of the room an m.room.create event creates: from room version 12 its
 * event ID with `!` for `$` (appendices, "Room IDs"); before, its `room_id`.
 */
export function roomIdOfCreateEvent(create: Pdu, version: RoomVersion): string {
  if (version.eventFormat === 'v12') return '!' + computeEventId(create, version).slice(1);
  if (typeof create.room_id !== 'string') throw badJson('the m.room.create event has no room_id');
  return create.room_id;
}

/** From room version 12, the ID of the m.room.create event a room ID names; undefined where room IDs are not derived from it. */
export function createEventIdOfRoom(roomId: string, version: RoomVersion): string | undefined {
  return version.eventFormat === 'v12' && roomId.startsWith('!') ? '$' + roomId.slice(1) : undefined;
}

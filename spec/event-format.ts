/**
 * The shape and size every PDU must have before anything else looks at it
 * (server-server-api, "Checks performed on receipt of a PDU" step 1; the PDU
 * schemas of rooms/ fragments v1/v4/v6/v11/v12 event format; client-server-api
 * "Size limits").
 */
import { canonicalJson } from './canonical-json';
import { badJson, tooLarge } from './errors';
import { MAX_ID_BYTES } from './identifiers';
import type { Pdu } from './pdu';
import type { RoomVersion } from './room-versions';

/** The whole event, signatures included, as canonical JSON. */
export const MAX_PDU_BYTES = 65536;
/** `type` and `state_key`. */
const MAX_KEY_BYTES = 255;
const MAX_AUTH_EVENTS = 10;
const MAX_PREV_EVENTS = 20;
/** v6+ (strict canonical JSON): 2**53 - 1. */
const MAX_DEPTH_STRICT = Number.MAX_SAFE_INTEGER;
/** v1-v5: 2**63 - 1, which parses to the nearest double, 2**63. */
const MAX_DEPTH_LENIENT = 2 ** 63;

type JsonObject = Record<string, unknown>;

export interface FormatOptions {
  /**
   * Whether prev_events and auth_events are held to their limits (20 and 10).
   * Not for /backfill answers: old events accepted before the limits existed
   * must still be accepted there (backfill.yaml).
   */
  limitReferences?: boolean;
}

/**
 * Throws M_BAD_JSON naming the first key of the wrong shape, or M_TOO_LARGE
 * naming what exceeds its size limit; in room versions with strict canonical
 * JSON, floats and out-of-range integers anywhere in the event are M_BAD_JSON.
 */
export function checkEventFormat(pdu: unknown, version: RoomVersion, options: FormatOptions = {}): asserts pdu is Pdu {
  if (!isObject(pdu)) throw badJson('an event must be a JSON object');

  checkString(pdu, 'sender', MAX_ID_BYTES);
  checkString(pdu, 'type', MAX_KEY_BYTES);
  if ((pdu.type as string).includes('\u0000')) throw badJson('`type` must not contain NUL');
  if (pdu.state_key !== undefined) checkString(pdu, 'state_key', MAX_KEY_BYTES);
  checkInteger(pdu, 'origin_server_ts');
  checkInteger(pdu, 'depth');
  const maxDepth = version.strictCanonicalJson ? MAX_DEPTH_STRICT : MAX_DEPTH_LENIENT;
  if ((pdu.depth as number) > maxDepth) throw badJson(`\`depth\` must not exceed ${maxDepth}`);
  if (!isObject(pdu.content)) throw badJson('`content` must be an object');
  checkHashes(pdu.hashes);
  checkSignatures(pdu.signatures);
  if (pdu.unsigned !== undefined && !isObject(pdu.unsigned)) throw badJson('`unsigned` must be an object');

  // v12: the create event has no room_id (its ID is the room's); whether one that has a room_id is accepted is auth rule 1.
  const roomIdOptional = version.eventFormat === 'v12' && pdu.type === 'm.room.create';
  if (!roomIdOptional || pdu.room_id !== undefined) checkString(pdu, 'room_id', MAX_ID_BYTES);

  if (version.eventIdFormat === 'v1') checkString(pdu, 'event_id', MAX_ID_BYTES);
  else if (pdu.event_id !== undefined) throw badJson(`\`event_id\` must be absent in room version ${version.id}: the ID is the event's hash`);

  const limited = options.limitReferences ?? true;
  checkReferences(pdu, 'prev_events', limited ? MAX_PREV_EVENTS : Infinity, version);
  checkReferences(pdu, 'auth_events', limited ? MAX_AUTH_EVENTS : Infinity, version);

  // Before v11 m.room.redaction names its target at the top level; from v11 `redacts` is an ordinary (unchecked) key there.
  if ((version.eventFormat === 'v1' || version.eventFormat === 'v3') && pdu.redacts !== undefined && typeof pdu.redacts !== 'string') {
    throw badJson('`redacts` must be a string');
  }

  const bytes = Buffer.byteLength(canonicalJson(pdu, { strict: version.strictCanonicalJson }), 'utf8');
  if (bytes > MAX_PDU_BYTES) throw tooLarge(`event is ${bytes} bytes as canonical JSON; the limit is ${MAX_PDU_BYTES}`);
}

function checkString(pdu: JsonObject, key: string, maxBytes: number): void {
  const value = pdu[key];
  if (typeof value !== 'string') throw badJson(`\`${key}\` must be a string`);
  // UTF-8 takes at least as many bytes as UTF-16 code units, at most three per unit.
  if (value.length > maxBytes || (value.length * 3 > maxBytes && Buffer.byteLength(value, 'utf8') > maxBytes)) {
    throw tooLarge(`\`${key}\` must not exceed ${maxBytes} bytes`);
  }
}

function checkInteger(pdu: JsonObject, key: string): void {
  if (!Number.isInteger(pdu[key])) throw badJson(`\`${key}\` must be an integer`);
}

function checkHashes(hashes: unknown): void {
  if (!isObject(hashes)) throw badJson('`hashes` must be an object');
  if (typeof hashes.sha256 !== 'string') throw badJson('`hashes.sha256` must be a string');
}

function checkSignatures(signatures: unknown): void {
  if (!isObject(signatures)) throw badJson('`signatures` must be an object');
  for (const byServer of Object.values(signatures)) {
    if (!isObject(byServer) || !Object.values(byServer).every((s) => typeof s === 'string')) {
      throw badJson('`signatures` must map server names to objects of key ID → signature strings');
    }
  }
}

/** v1-v2 reference events as [event_id, {algorithm: hash}] pairs; v3+ by event ID alone. */
function checkReferences(pdu: JsonObject, key: 'prev_events' | 'auth_events', max: number, version: RoomVersion): void {
  const refs = pdu[key];
  if (!Array.isArray(refs)) throw badJson(`\`${key}\` must be an array`);
  if (refs.length > max) throw badJson(`\`${key}\` must not list more than ${max} events`);
  const valid = version.eventIdFormat === 'v1' ? isIdHashPair : isString;
  if (!refs.every(valid)) {
    throw badJson(`\`${key}\` must list ${version.eventIdFormat === 'v1' ? '[event ID, hashes] pairs' : 'event IDs'}`);
  }
}

const isString = (value: unknown): boolean => typeof value === 'string';

function isIdHashPair(value: unknown): boolean {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && isObject(value[1]);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

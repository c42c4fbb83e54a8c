/**
 * Event relationships ("Forming relationships between events"): the relation an
 * event's content declares, and the validity rules of replacements
 * (event_replacements module).
 */
import type { Pdu } from './pdu';

export interface Relation {
  relType: string;
  /** The parent event. */
  eventId: string;
  /** m.annotation's key. */
  key?: string;
}

/** Longest rel_type and parent ID kept (event IDs are at most 255 bytes). */
const MAX_LENGTH = 255;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The relation `content.m.relates_to` declares: it needs a `rel_type` and a
 * parent `event_id`. A rich reply (`m.in_reply_to` alone) is not a relation.
 */
export function relationOf(content: Record<string, unknown>): Relation | undefined {
  const relatesTo = content['m.relates_to'];
  if (!isObject(relatesTo)) return undefined;
  const { rel_type: relType, event_id: eventId, key } = relatesTo;
  if (typeof relType !== 'string' || relType.length === 0 || relType.length > MAX_LENGTH) return undefined;
  if (typeof eventId !== 'string' || !eventId.startsWith('$') || eventId.length > MAX_LENGTH) return undefined;
  return typeof key === 'string' ? { relType, eventId, key } : { relType, eventId };
}

/**
 * Whether `replacement` validly replaces `original` ("Validity of replacement
 * events"); the caller has checked both are in the same room. The
 * `m.new_content` of an encrypted replacement is inside its ciphertext, so only
 * a cleartext one is checked.
 */
export function isValidReplacement(original: Pdu, replacement: Pdu): boolean {
  if (original.sender !== replacement.sender || original.type !== replacement.type) return false;
  if (original.state_key !== undefined || replacement.state_key !== undefined) return false;
  if (relationOf(original.content)?.relType === 'm.replace') return false;
  return replacement.type === 'm.room.encrypted' || isObject(replacement.content['m.new_content']);
}

/** Orders replacements newest first: by origin_server_ts, then the larger event ID. */
export function newestReplacementFirst(a: { id: string; pdu: Pdu }, b: { id: string; pdu: Pdu }): number {
  return b.pdu.origin_server_ts - a.pdu.origin_server_ts || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

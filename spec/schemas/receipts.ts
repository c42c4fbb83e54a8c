/**
 * Request bodies of POST /rooms/{roomId}/receipt/{receiptType}/{eventId} and
 * POST /rooms/{roomId}/read_markers (receipts.yaml, read_markers.yaml).
 */
import { invalidParam } from '../errors';
import { compileSchema } from '../validate';

/** `thread_id` is checked by threadIdParam, so that every bad value gets M_INVALID_PARAM as receipts.yaml shows. */
export const receiptBody = compileSchema<{ thread_id?: unknown }>({ type: 'object' });

/** A receipt's `thread_id`: absent (unthreaded), `main`, or a thread root's event ID. */
export function threadIdParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw invalidParam('thread_id field must be a non-empty string');
  if (value !== 'main' && !value.startsWith('$')) throw invalidParam("thread_id must be 'main' or the event ID of a thread root");
  return value;
}

export interface ReadMarkersBody {
  'm.fully_read'?: string;
  'm.read'?: string;
  'm.read.private'?: string;
}

const eventId = { type: 'string', pattern: '^\\$' };

export const readMarkersBody = compileSchema<ReadMarkersBody>({
  type: 'object',
  properties: { 'm.fully_read': eventId, 'm.read': eventId, 'm.read.private': eventId },
});

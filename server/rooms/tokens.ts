/**
 * Room timeline pagination tokens (docs/tokens.md). A token names a point
 * between two events, never an event:
 *
 * - `t{depth}-{stream}`: a topological point, after every timeline event whose
 *   (depth, stream ordering) is at most (depth, stream) and before every other.
 *   /messages, /context, /relations and /threads hand these out. `stream` is
 *   negative among history fetched by backfill (`t12--40`).
 * - `s{stream}`: a stream point, after every event with a stream ordering at
 *   most `stream` (what /sync hands out). Anything after a `_` belongs to other
 *   streams a /sync token may carry and is ignored here.
 *
 * Both are plain numbers from the database, so they survive restarts.
 */
import { invalidParam } from '../../spec/errors';

/** A point in a room's topological order: after every event at or before (depth, stream). */
export interface Point {
  depth: number;
  stream: number;
}

export type RoomToken = { kind: 'topological'; point: Point } | { kind: 'stream'; stream: number };

/** Before every event of every room. */
export const ROOM_START: Point = { depth: 0, stream: 0 };

const NUMBER = '(0|[1-9][0-9]{0,15})';
const TOPOLOGICAL = new RegExp(`^t${NUMBER}-(-?${NUMBER})$`);
const STREAM = new RegExp(`^s${NUMBER}(?:_[A-Za-z0-9_.~-]*)?$`);

function safe(digits: string): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) throw invalidParam('Pagination token out of range');
  return n;
}

/** Parses a token; 400 M_INVALID_PARAM for anything else. */
export function parseRoomToken(token: string): RoomToken {
  const topological = TOPOLOGICAL.exec(token);
  if (topological) return { kind: 'topological', point: { depth: safe(topological[1]), stream: safe(topological[2]) } };
  const stream = STREAM.exec(token);
  if (stream) return { kind: 'stream', stream: safe(stream[1]) };
  throw invalidParam(`Unknown pagination token '${token.slice(0, 64)}'`);
}

export function topologicalToken(point: Point): string {
  return `t${point.depth}-${point.stream}`;
}

export function streamToken(stream: number): string {
  return `s${stream}`;
}

export function comparePoints(a: Point, b: Point): number {
  return a.depth - b.depth || a.stream - b.stream;
}

export const minPoint = (a: Point, b: Point): Point => (comparePoints(a, b) <= 0 ? a : b);

/** The point just after an event at this position. */
export const pointAfter = (event: { depth: number; streamOrdering: number }): Point => ({ depth: event.depth, stream: event.streamOrdering });

/** The point just before an event at this position (stream orderings are integers). */
export const pointBefore = (event: { depth: number; streamOrdering: number }): Point => ({ depth: event.depth, stream: event.streamOrdering - 1 });

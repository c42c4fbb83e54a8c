/** Query parameters of the paging endpoints: direction, limit, tokens, booleans, RoomEventFilters. */
import { invalidParam, missingParam, notJson } from '../../spec/errors';
import { filterFromJson, type RoomEventFilter } from '../../spec/filter';
import { roomEventFilterSchema, type RoomEventFilterJson } from '../../spec/schemas/filter';
import { checkBody, compileSchema } from '../../spec/validate';
import { parseRoomToken, type RoomToken } from '../rooms/tokens';

/** The most events any paging endpoint returns at once. */
export const MAX_LIMIT = 1000;

/** `dir`: 'b' or 'f', else 400 M_INVALID_PARAM (also when it is required and missing). */
export function dirParam(value: string | undefined, fallback?: 'b' | 'f'): 'b' | 'f' {
  if (value === undefined && fallback) return fallback;
  if (value !== 'b' && value !== 'f') throw invalidParam("'dir' must be 'b' or 'f'");
  return value;
}

/** A non-negative integer (positive with `min: 1`), capped at MAX_LIMIT. */
export function limitParam(value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!/^-?[0-9]{1,16}$/.test(value) || Number(value) < min) throw invalidParam(`'limit' must be an integer of at least ${min}`);
  return Math.min(Number(value), MAX_LIMIT);
}

export function integerParam(name: string, value: string | undefined): number {
  if (value === undefined) throw missingParam(`Missing required parameter '${name}'`);
  if (!/^-?[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw invalidParam(`'${name}' must be an integer`);
  return Number(value);
}

export function booleanParam(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalidParam(`'${name}' must be 'true' or 'false'`);
  return value === 'true';
}

export function tokenParam(value: string | undefined): { token: string; parsed: RoomToken } | undefined {
  return value === undefined ? undefined : { token: value, parsed: parseRoomToken(value) };
}

const roomEventFilterBody = compileSchema<RoomEventFilterJson>(roomEventFilterSchema);

/**
 * An inline RoomEventFilter (/messages and /context take one as JSON), and the
 * limit it sets, if any. spec/filter.ts builds RoomEventFilters as parts of a
 * Filter, so the definition is read as a filter's `room.state`, which has no default limit.
 */
export function roomEventFilterParam(value: string | undefined): RoomEventFilter {
  if (value === undefined || value === '') return filterFromJson({}).room.state;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw notJson("'filter' is not valid JSON");
  }
  return filterFromJson({ room: { state: checkBody(roomEventFilterBody, json) } }).room.state;
}

/** The page size: the `limit` parameter, else the filter's, else `fallback`; the smaller of the two when both are given. */
export function pageLimit(value: string | undefined, filter: RoomEventFilter, fallback: number): number {
  const limit = limitParam(value, filter.limit ?? fallback);
  return filter.limit === undefined ? limit : Math.min(limit, filter.limit);
}

/**
 * Filters as the APIs that take them (/sync, /messages, /context) use them: a
 * definition checked against the schema, with the spec's defaults filled in, and
 * the rules for whether a room or an event passes.
 */
import { notJson } from './errors';
import {
  filterBody,
  type EventFilterJson,
  type FilterJson,
  type RoomEventFilterJson,
} from './schemas/filter';
import { checkBody } from './validate';

/** The timeline limit when a filter gives none (the spec leaves the default to servers). */
export const DEFAULT_TIMELINE_LIMIT = 10;

export interface EventFilter {
  /** Absent: the API's own default applies. */
  limit?: number;
  /** Absent: every type passes. Entries may use `*` as a wildcard. */
  types?: string[];
  notTypes: string[];
  /** Absent: every sender passes. */
  senders?: string[];
  notSenders: string[];
}

export interface RoomEventFilter extends EventFilter {
  rooms?: string[];
  notRooms: string[];
  /** true: only events with `content.url`; false: only those without; absent: either. */
  containsUrl?: boolean;
  lazyLoadMembers: boolean;
  includeRedundantMembers: boolean;
  unreadThreadNotifications: boolean;
}

export interface RoomFilter {
  rooms?: string[];
  notRooms: string[];
  includeLeave: boolean;
  timeline: RoomEventFilter;
  state: RoomEventFilter;
  ephemeral: RoomEventFilter;
  accountData: RoomEventFilter;
}

export interface Filter {
  /** Absent: events keep all their fields. */
  eventFields?: string[];
  eventFormat: 'client' | 'federation';
  presence: EventFilter;
  accountData: EventFilter;
  room: RoomFilter;
}

/** What the filter rules look at in an event (or account data / presence / EDU). */
export interface FilterableEvent {
  type: string;
  sender?: string;
  room_id?: string;
  content?: unknown;
}

function eventFilter(json: EventFilterJson = {}): EventFilter {
  return {
    limit: json.limit,
    types: json.types,
    notTypes: json.not_types ?? [],
    senders: json.senders,
    notSenders: json.not_senders ?? [],
  };
}

function roomEventFilter(json: RoomEventFilterJson = {}, defaultLimit?: number): RoomEventFilter {
  return {
    ...eventFilter(json),
    limit: json.limit ?? defaultLimit,
    rooms: json.rooms,
    notRooms: json.not_rooms ?? [],
    containsUrl: json.contains_url,
    lazyLoadMembers: json.lazy_load_members ?? false,
    includeRedundantMembers: json.include_redundant_members ?? false,
    unreadThreadNotifications: json.unread_thread_notifications ?? false,
  };
}

/** A filter from a definition that has passed the schema. */
export function filterFromJson(json: FilterJson): Filter {
  const room = json.room ?? {};
  return {
    eventFields: json.event_fields,
    eventFormat: json.event_format ?? 'client',
    presence: eventFilter(json.presence),
    accountData: eventFilter(json.account_data),
    room: {
      rooms: room.rooms,
      notRooms: room.not_rooms ?? [],
      includeLeave: room.include_leave ?? false,
      timeline: roomEventFilter(room.timeline, DEFAULT_TIMELINE_LIMIT),
      state: roomEventFilter(room.state),
      ephemeral: roomEventFilter(room.ephemeral),
      accountData: roomEventFilter(room.account_data),
    },
  };
}

/** Checks a definition against the schema (M_BAD_JSON / M_INVALID_PARAM) and parses it. */
export function parseFilter(value: unknown): Filter {
  return filterFromJson(checkBody(filterBody, value));
}

/** Whether a `filter` parameter is inline JSON rather than a filter ID (filter IDs never start with `{`). */
export function isInlineFilter(param: string): boolean {
  return param.startsWith('{');
}

/** Parses an inline JSON filter parameter. */
export function parseInlineFilter(param: string): Filter {
  let value: unknown;
  try {
    value = JSON.parse(param);
  } catch {
    throw notJson('The filter is not valid JSON');
  }
  return parseFilter(value);
}

const globCache = new Map<string, RegExp>();

/** Event type patterns: `*` matches any sequence of characters, everything else itself. */
export function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  let re = globCache.get(pattern);
  if (!re) {
    const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    re = new RegExp(`^${source}$`, 's');
    globCache.set(pattern, re);
  }
  return re.test(type);
}

/** Exclusion lists win over inclusion lists; an absent inclusion list includes everything. */
function passes<T>(value: T, include: T[] | undefined, exclude: T[], matches: (pattern: T, value: T) => boolean): boolean {
  if (exclude.some((pattern) => matches(pattern, value))) return false;
  return include === undefined || include.some((pattern) => matches(pattern, value));
}

const equal = <T>(a: T, b: T) => a === b;

/** Whether a room passes a room list (RoomFilter or RoomEventFilter `rooms` / `not_rooms`). */
export function roomAllowed(filter: { rooms?: string[]; notRooms: string[] }, roomId: string): boolean {
  return passes(roomId, filter.rooms, filter.notRooms, equal);
}

/** Whether an event passes an EventFilter or RoomEventFilter (not counting `limit`). */
export function eventAllowed(filter: EventFilter | RoomEventFilter, event: FilterableEvent): boolean {
  if (!passes(event.type, filter.types, filter.notTypes, typeMatches)) return false;
  if (event.sender !== undefined && !passes(event.sender, filter.senders, filter.notSenders, equal)) return false;
  if ('notRooms' in filter) {
    if (event.room_id !== undefined && !roomAllowed(filter, event.room_id)) return false;
    if (filter.containsUrl !== undefined) {
      const content = event.content;
      const hasUrl = typeof content === 'object' && content !== null && 'url' in content;
      if (hasUrl !== filter.containsUrl) return false;
    }
  }
  return true;
}

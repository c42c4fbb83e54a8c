/**
 * The filter definition (definitions/sync_filter.yaml, event_filter.yaml,
 * room_event_filter.yaml): the body of POST /user/{userId}/filter and the
 * inline form of /sync's `filter` parameter. Unknown keys are allowed, so
 * filters written for later spec versions still upload.
 */
import { compileSchema } from '../validate';

export interface EventFilterJson {
  limit?: number;
  types?: string[];
  not_types?: string[];
  senders?: string[];
  not_senders?: string[];
}

export interface RoomEventFilterJson extends EventFilterJson {
  rooms?: string[];
  not_rooms?: string[];
  contains_url?: boolean;
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  unread_thread_notifications?: boolean;
}

export interface RoomFilterJson {
  rooms?: string[];
  not_rooms?: string[];
  include_leave?: boolean;
  timeline?: RoomEventFilterJson;
  state?: RoomEventFilterJson;
  ephemeral?: RoomEventFilterJson;
  account_data?: RoomEventFilterJson;
}

export interface FilterJson {
  event_fields?: string[];
  event_format?: 'client' | 'federation';
  presence?: EventFilterJson;
  account_data?: EventFilterJson;
  room?: RoomFilterJson;
}

const strings = { type: 'array', items: { type: 'string' } };
const userIds = { type: 'array', items: { type: 'string', pattern: '^@' } };
const roomIds = { type: 'array', items: { type: 'string', pattern: '^!' } };

const eventFilterProperties = {
  limit: { type: 'integer', minimum: 1 },
  types: strings,
  not_types: strings,
  senders: userIds,
  not_senders: userIds,
};

export const eventFilterSchema = {
  type: 'object',
  properties: eventFilterProperties,
};

export const roomEventFilterSchema = {
  type: 'object',
  properties: {
    ...eventFilterProperties,
    rooms: roomIds,
    not_rooms: roomIds,
    contains_url: { type: 'boolean' },
    lazy_load_members: { type: 'boolean' },
    include_redundant_members: { type: 'boolean' },
    unread_thread_notifications: { type: 'boolean' },
  },
};

export const filterSchema = {
  type: 'object',
  properties: {
    event_fields: strings,
    event_format: { type: 'string', enum: ['client', 'federation'] },
    presence: eventFilterSchema,
    account_data: eventFilterSchema,
    room: {
      type: 'object',
      properties: {
        rooms: roomIds,
        not_rooms: roomIds,
        include_leave: { type: 'boolean' },
        timeline: roomEventFilterSchema,
        state: roomEventFilterSchema,
        ephemeral: roomEventFilterSchema,
        account_data: roomEventFilterSchema,
      },
    },
  },
};

export const filterBody = compileSchema<FilterJson>(filterSchema);

/**
 * The contents of the EDUs servers exchange outside the room DAG
 * (data/api/server-server/definitions/event-schemas/): m.typing, m.receipt,
 * m.presence, m.direct_to_device, m.device_list_update, m.signing_key_update.
 * An EDU whose content does not match is ignored, as one of an unknown type is.
 */
import type { PresenceState } from './presence';
import { compileSchema } from '../validate';

const id = { type: 'string', minLength: 1, maxLength: 255 };
const object = { type: 'object' };

export interface TypingEdu {
  room_id: string;
  user_id: string;
  typing: boolean;
}

export const typingEdu = compileSchema<TypingEdu>({
  type: 'object',
  required: ['room_id', 'user_id', 'typing'],
  properties: { room_id: id, user_id: id, typing: { type: 'boolean' } },
});

export interface ReadReceiptEdu {
  event_ids: string[];
  data: { ts: number; thread_id?: string };
}

/** Room ID → receipt type → user ID → receipt. Only m.read is specified; other types are left alone. */
export type ReceiptEdu = Record<string, Record<string, Record<string, unknown>>>;

export const receiptEdu = compileSchema<ReceiptEdu>({
  type: 'object',
  propertyNames: { pattern: '^!' },
  additionalProperties: { type: 'object', additionalProperties: { type: 'object', propertyNames: { pattern: '^@' } } },
});

export const readReceipt = compileSchema<ReadReceiptEdu>({
  type: 'object',
  required: ['event_ids', 'data'],
  properties: {
    event_ids: { type: 'array', minItems: 1, items: id },
    data: { type: 'object', required: ['ts'], properties: { ts: { type: 'integer' }, thread_id: id } },
  },
});

export interface PresenceUpdate {
  user_id: string;
  presence: PresenceState;
  status_msg?: string;
  last_active_ago: number;
  currently_active?: boolean;
}

export interface PresenceEdu {
  push: PresenceUpdate[];
}

export const presenceEdu = compileSchema<PresenceEdu>({
  type: 'object',
  required: ['push'],
  properties: {
    push: {
      type: 'array',
      items: {
        type: 'object',
        required: ['user_id', 'presence', 'last_active_ago'],
        properties: {
          user_id: id,
          presence: { enum: ['online', 'unavailable', 'offline'] },
          status_msg: { type: 'string' },
          last_active_ago: { type: 'integer', minimum: 0 },
          currently_active: { type: 'boolean' },
        },
      },
    },
  },
});

export interface DirectToDeviceEdu {
  sender: string;
  type: string;
  message_id: string;
  /** User ID → device ID (or `*`) → content. */
  messages: Record<string, Record<string, Record<string, unknown>>>;
}

export const directToDeviceEdu = compileSchema<DirectToDeviceEdu>({
  type: 'object',
  required: ['sender', 'type', 'message_id', 'messages'],
  properties: {
    sender: id,
    type: id,
    // "Arbitrary utf8 string, of maximum length 32 codepoints"; some servers send longer ones, which cost nothing to accept.
    message_id: id,
    messages: { type: 'object', propertyNames: { pattern: '^@' }, additionalProperties: { type: 'object', additionalProperties: object } },
  },
});

export interface DeviceListUpdateEdu {
  user_id: string;
  device_id: string;
  device_display_name?: string;
  stream_id: number;
  prev_id?: number[];
  deleted?: boolean;
  keys?: Record<string, unknown>;
}

export const deviceListUpdateEdu = compileSchema<DeviceListUpdateEdu>({
  type: 'object',
  required: ['user_id', 'device_id', 'stream_id'],
  properties: {
    user_id: id,
    device_id: id,
    device_display_name: { type: 'string' },
    stream_id: { type: 'integer' },
    prev_id: { type: 'array', items: { type: 'integer' } },
    deleted: { type: 'boolean' },
    keys: object,
  },
});

export interface SigningKeyUpdateEdu {
  user_id: string;
  master_key?: Record<string, unknown>;
  self_signing_key?: Record<string, unknown>;
}

export const signingKeyUpdateEdu = compileSchema<SigningKeyUpdateEdu>({
  type: 'object',
  required: ['user_id'],
  properties: { user_id: id, master_key: object, self_signing_key: object },
});

/** GET /_matrix/federation/v1/user/devices/{userId} (user_devices.yaml), as another server answers it. */
export interface UserDevicesAnswer {
  user_id: string;
  stream_id: number;
  devices: { device_id: string; keys: Record<string, unknown>; device_display_name?: string }[];
  master_key?: Record<string, unknown>;
  self_signing_key?: Record<string, unknown>;
}

export const userDevicesAnswer = compileSchema<UserDevicesAnswer>({
  type: 'object',
  required: ['user_id', 'stream_id', 'devices'],
  properties: {
    user_id: id,
    stream_id: { type: 'integer' },
    devices: {
      type: 'array',
      items: {
        type: 'object',
        required: ['device_id', 'keys'],
        properties: { device_id: id, keys: object, device_display_name: { type: 'string' } },
      },
    },
    master_key: object,
    self_signing_key: object,
  },
});

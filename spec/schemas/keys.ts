/**
 * Request bodies of the end-to-end encryption endpoints: keys.yaml,
 * cross_signing.yaml and key_backup.yaml, with the definitions they use
 * (device_keys, one_time_keys, cross_signing_key, key_backup_data, room_key_backup).
 */
import type { Signatures } from '../signing';
import { BACKUP_ALGORITHMS } from '../key-backup';
import { compileSchema } from '../validate';
import { authDataSchema, type AuthData } from './uia';

/** Identifiers and key IDs are stored in 255-character columns. */
const MAX_KEY_NAME_LENGTH = 255;

const names = { maxLength: MAX_KEY_NAME_LENGTH };
const safeCount = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

/** `signatures`: user ID → key ID → signature. */
const signaturesSchema = {
  type: 'object',
  propertyNames: names,
  additionalProperties: { type: 'object', propertyNames: names, additionalProperties: { type: 'string' } },
};

export interface DeviceKeys {
  user_id: string;
  device_id: string;
  algorithms: string[];
  keys: Record<string, string>;
  signatures: Signatures;
  [key: string]: unknown;
}

/** definitions/device_keys.yaml */
const deviceKeysSchema = {
  type: 'object',
  required: ['user_id', 'device_id', 'algorithms', 'keys', 'signatures'],
  properties: {
    user_id: { type: 'string' },
    device_id: { type: 'string' },
    algorithms: { type: 'array', items: { type: 'string' } },
    keys: { type: 'object', propertyNames: names, additionalProperties: { type: 'string' } },
    signatures: signaturesSchema,
  },
};

/** A one-time or fallback key: a plain key, or a KeyObject (signed_curve25519). */
export type OneTimeKey = string | { key: string; signatures: Signatures; fallback?: boolean; [key: string]: unknown };

/** definitions/one_time_keys.yaml: `<algorithm>:<key_id>` → key. */
const oneTimeKeysSchema = {
  type: 'object',
  propertyNames: names,
  additionalProperties: {
    anyOf: [
      { type: 'string' },
      {
        type: 'object',
        required: ['key', 'signatures'],
        properties: { key: { type: 'string' }, signatures: signaturesSchema, fallback: { type: 'boolean' } },
      },
    ],
  },
};

export interface UploadKeysBody {
  device_keys?: DeviceKeys;
  one_time_keys?: Record<string, OneTimeKey>;
  fallback_keys?: Record<string, OneTimeKey>;
}

export const uploadKeysBody = compileSchema<UploadKeysBody>({
  type: 'object',
  properties: { device_keys: deviceKeysSchema, one_time_keys: oneTimeKeysSchema, fallback_keys: oneTimeKeysSchema },
});

export interface QueryKeysBody {
  timeout?: number;
  /** User ID → device IDs (empty: every device). */
  device_keys: Record<string, string[]>;
}

export const queryKeysBody = compileSchema<QueryKeysBody>({
  type: 'object',
  required: ['device_keys'],
  properties: {
    timeout: { type: 'integer' },
    device_keys: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
  },
});

export interface ClaimKeysBody {
  timeout?: number;
  /** User ID → device ID → algorithm. */
  one_time_keys: Record<string, Record<string, string>>;
}

export const claimKeysBody = compileSchema<ClaimKeysBody>({
  type: 'object',
  required: ['one_time_keys'],
  properties: {
    timeout: { type: 'integer' },
    one_time_keys: { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'string' } } },
  },
});

export interface CrossSigningKey {
  user_id: string;
  usage: string[];
  keys: Record<string, string>;
  signatures?: Signatures;
  [key: string]: unknown;
}

/** definitions/cross_signing_key.yaml */
const crossSigningKeySchema = {
  type: 'object',
  required: ['user_id', 'usage', 'keys'],
  properties: {
    user_id: { type: 'string' },
    usage: { type: 'array', items: { type: 'string', enum: ['master', 'self_signing', 'user_signing'] } },
    keys: { type: 'object', minProperties: 1, maxProperties: 1, propertyNames: names, additionalProperties: { type: 'string' } },
    signatures: signaturesSchema,
  },
};

export interface UploadCrossSigningKeysBody {
  master_key?: CrossSigningKey;
  self_signing_key?: CrossSigningKey;
  user_signing_key?: CrossSigningKey;
  auth?: AuthData;
}

export const uploadCrossSigningKeysBody = compileSchema<UploadCrossSigningKeysBody>({
  type: 'object',
  properties: {
    master_key: crossSigningKeySchema,
    self_signing_key: crossSigningKeySchema,
    user_signing_key: crossSigningKeySchema,
    auth: authDataSchema,
  },
});

/** User ID → key ID (a device ID or a master key's public key) → the signed object. */
export type UploadSignaturesBody = Record<string, Record<string, Record<string, unknown>>>;

export const uploadSignaturesBody = compileSchema<UploadSignaturesBody>({
  type: 'object',
  additionalProperties: { type: 'object', additionalProperties: { type: 'object' } },
});

export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  session_data: Record<string, unknown>;
}

/** definitions/key_backup_data.yaml */
const keyBackupDataSchema = {
  type: 'object',
  required: ['first_message_index', 'forwarded_count', 'is_verified', 'session_data'],
  properties: {
    first_message_index: safeCount,
    forwarded_count: safeCount,
    is_verified: { type: 'boolean' },
    session_data: { type: 'object' },
  },
};

export const keyBackupDataBody = compileSchema<KeyBackupData>(keyBackupDataSchema);

export interface RoomKeyBackup {
  /** Session ID → key. */
  sessions: Record<string, KeyBackupData>;
}

/** definitions/room_key_backup.yaml */
const roomKeyBackupSchema = {
  type: 'object',
  required: ['sessions'],
  properties: { sessions: { type: 'object', propertyNames: names, additionalProperties: keyBackupDataSchema } },
};

export const roomKeyBackupBody = compileSchema<RoomKeyBackup>(roomKeyBackupSchema);

export interface RoomKeysBody {
  /** Room ID → its keys. */
  rooms: Record<string, RoomKeyBackup>;
}

export const roomKeysBody = compileSchema<RoomKeysBody>({
  type: 'object',
  required: ['rooms'],
  properties: { rooms: { type: 'object', propertyNames: names, additionalProperties: roomKeyBackupSchema } },
});

export type BackupAlgorithm = (typeof BACKUP_ALGORITHMS)[number];

export interface CreateBackupBody {
  algorithm: BackupAlgorithm;
  auth_data: Record<string, unknown>;
}

const algorithm = { type: 'string', enum: BACKUP_ALGORITHMS };

export const createBackupBody = compileSchema<CreateBackupBody>({
  type: 'object',
  required: ['algorithm', 'auth_data'],
  properties: { algorithm, auth_data: { type: 'object' } },
});

export interface UpdateBackupBody extends CreateBackupBody {
  version?: string;
}

export const updateBackupBody = compileSchema<UpdateBackupBody>({
  type: 'object',
  required: ['algorithm', 'auth_data'],
  properties: { algorithm, auth_data: { type: 'object' }, version: { type: 'string' } },
});

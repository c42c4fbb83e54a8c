/**
 * Server key documents (server-server definitions/keys.yaml), the notary's
 * response (definitions/keys_query_response.yaml) and the body of
 * POST /_matrix/key/v2/query (keys_query.yaml).
 */
import type { Signatures } from '../signing';
import { compileSchema } from '../validate';

export interface VerifyKey {
  key: string;
}

export interface OldVerifyKey {
  key: string;
  expired_ts: number;
}

/** What GET /_matrix/key/v2/server answers: a server's keys, signed by each of its verify_keys. */
export interface ServerKeysDocument {
  server_name: string;
  verify_keys: Record<string, VerifyKey>;
  old_verify_keys?: Record<string, OldVerifyKey>;
  valid_until_ts: number;
  signatures: Signatures;
  [key: string]: unknown;
}

const timestamp = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

const signaturesSchema = {
  type: 'object',
  additionalProperties: { type: 'object', additionalProperties: { type: 'string' } },
};

export const serverKeysDocument = compileSchema<ServerKeysDocument>({
  type: 'object',
  required: ['server_name', 'verify_keys', 'signatures', 'valid_until_ts'],
  properties: {
    server_name: { type: 'string', minLength: 1, maxLength: 255 },
    verify_keys: {
      type: 'object',
      propertyNames: { maxLength: 255 },
      additionalProperties: { type: 'object', required: ['key'], properties: { key: { type: 'string' } } },
    },
    old_verify_keys: {
      type: 'object',
      propertyNames: { maxLength: 255 },
      additionalProperties: {
        type: 'object',
        required: ['key', 'expired_ts'],
        properties: { key: { type: 'string' }, expired_ts: timestamp },
      },
    },
    valid_until_ts: timestamp,
    signatures: signaturesSchema,
  },
});

/** The notary's answer: documents to check one by one (a bad one does not spoil the rest). */
export const keyQueryResponse = compileSchema<{ server_keys: unknown[] }>({
  type: 'object',
  required: ['server_keys'],
  properties: { server_keys: { type: 'array' } },
});

export interface KeyCriteria {
  minimum_valid_until_ts?: number;
}

export interface KeyQueryBody {
  /** Server name → key ID → criteria. */
  server_keys: Record<string, Record<string, KeyCriteria>>;
}

export const keyQueryBody = compileSchema<KeyQueryBody>({
  type: 'object',
  required: ['server_keys'],
  properties: {
    server_keys: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: { type: 'object', properties: { minimum_valid_until_ts: { type: 'integer' } } },
      },
    },
  },
});

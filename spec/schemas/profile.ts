/**
 * Profile fields (profile.yaml): which key names may be used, and what value each
 * well-known key takes in the body of PUT /profile/{userId}/{keyName}.
 */
import { badJson, invalidParam, MatrixError, missingParam } from '../errors';
import { isMxcUri } from '../identifiers';

/** "The supplied profile key exceeds the maximum allowed key length of 255 bytes." */
export const MAX_PROFILE_KEY_BYTES = 255;
/** "The total profile MUST be under 64 KiB", measured as its JSON encoding. */
export const MAX_PROFILE_BYTES = 64 * 1024;

/** Limits on single fields, as Synapse imposes them (the spec lets servers choose). */
const MAX_STRING_LENGTH: Record<string, number> = {
  displayname: 256,
  avatar_url: 1000,
};

/** Common Namespaced Identifier Grammar (appendices), which covers the well-known keys too. */
const KEY_NAME_RE = /^[a-z][a-z0-9._-]*$/;

/** Throws M_KEY_TOO_LARGE or M_INVALID_PARAM unless `key` may name a profile field. */
export function checkProfileKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_PROFILE_KEY_BYTES) {
    throw new MatrixError(400, 'M_KEY_TOO_LARGE', `Profile key may not be longer than ${MAX_PROFILE_KEY_BYTES} bytes`);
  }
  if (!KEY_NAME_RE.test(key)) throw invalidParam(`Invalid profile key '${key}'`);
}

/**
 * The value a PUT body sets for `key`: the body must hold exactly that one key.
 * Returns `null` for an empty displayname or avatar_url, which clients have long
 * used to clear them. Other values must be non-null (use DELETE to remove a field).
 */
export function profileFieldValue(key: string, body: Record<string, unknown>): unknown {
  if (!Object.hasOwn(body, key)) throw missingParam(`Missing required field '${key}'`);
  const extra = Object.keys(body).find((k) => k !== key);
  if (extra !== undefined) throw badJson(`Body may only contain '${key}', not '${extra}'`);
  const value = body[key];
  if (value === null) throw badJson(`'${key}' may not be null; use DELETE to remove it`);
  switch (key) {
    case 'displayname':
    case 'avatar_url':
    case 'm.tz': {
      if (typeof value !== 'string') throw badJson(`'${key}' must be of type string`);
      if (value === '' && key !== 'm.tz') return null;
      const max = MAX_STRING_LENGTH[key];
      if (max !== undefined && value.length > max) throw invalidParam(`'${key}' may not be longer than ${max} characters`);
      if (key === 'avatar_url' && !isMxcUri(value)) throw invalidParam(`'avatar_url' must be an mxc:// URI`);
      return value;
    }
    default:
      return value;
  }
}

/** The size the spec's 64 KiB profile limit applies to. */
export function profileSize(profile: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(profile), 'utf8');
}

/**
 * Which of a server's keys may have made a signature at a given time
 * (server-server-api, "Publishing Keys" and "Validating hashes and signatures
 * on received events"; rooms/v5 "Signing key validity period").
 */
import type { RoomVersion } from '../../spec/room-versions';

/** What a signature is on: a request (X-Matrix) or an event of a room of some version. */
export type KeyUse = { purpose: 'request' } | { purpose: 'event'; roomVersion: RoomVersion };

export const REQUEST_SIGNATURE: KeyUse = { purpose: 'request' };

/**
 * A key's valid_until_ts counts for at most this long after we received it
 * (definitions/keys.yaml: "the lesser of this field and 7 days into the
 * future"), so that a key published as valid for years is still refreshed.
 */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

export interface KnownKey {
  publicKey: string;
  /** The valid_until_ts of the response that listed the key. */
  validUntilTs: number;
  /** Set when the server lists the key in old_verify_keys. */
  expiredTs: number | null;
  fetchedTs: number;
}

/**
 * Whether `key` may have made a signature at `atTs`:
 * - an old key (old_verify_keys) only signed events, up to its expired_ts;
 * - a current key (verify_keys) signed anything made at or before the response's
 *   valid_until_ts, capped at 7 days after we fetched it; room versions 1 to 4
 *   ignore valid_until_ts.
 */
export function usableAt(key: KnownKey, atTs: number, use: KeyUse): boolean {
  if (key.expiredTs !== null) return use.purpose === 'event' && atTs <= key.expiredTs;
  if (use.purpose === 'event' && !use.roomVersion.enforceKeyValidity) return true;
  return atTs <= effectiveValidUntil(key);
}

export function effectiveValidUntil(key: Pick<KnownKey, 'validUntilTs' | 'fetchedTs'>): number {
  return Math.min(key.validUntilTs, key.fetchedTs + MAX_KEY_VALIDITY_MS);
}

/** Whether a fresh copy of the server's keys could make `key` usable: not for a key retired before `atTs`. */
export function worthRefetching(key: KnownKey | undefined, atTs: number, use: KeyUse): boolean {
  if (key === undefined) return true;
  if (key.expiredTs !== null) return false;
  return !usableAt(key, atTs, use);
}

/**
 * End-to-end encryption keys as the spec shapes them (end_to_end_encryption.md,
 * "Key Distribution" and "Cross-signing"): key IDs, cross-signing keys, signed
 * objects compared without their signatures, and signatures merged in.
 */
import { canonicalJson } from './canonical-json';
import type { Signatures } from './signing';

export type JsonObject = Record<string, unknown>;

export type CrossSigningUsage = 'master' | 'self_signing' | 'user_signing';

/** A signature to add to a signed object's `signatures`. */
export interface ExtraSignature {
  signerUserId: string;
  signerKeyId: string;
  signature: string;
}

const LENIENT = { strict: false };

/** `<algorithm>:<key_id>` split at its first colon; null unless both parts are non-empty. */
export function splitKeyId(id: string): { algorithm: string; keyId: string } | null {
  const colon = id.indexOf(':');
  if (colon <= 0 || colon === id.length - 1) return null;
  return { algorithm: id.slice(0, colon), keyId: id.slice(colon + 1) };
}

/** Canonical JSON of a key object (lenient: clients' objects are not events). */
export const keyJson = (value: unknown): string => canonicalJson(value, LENIENT);

/** `value` without `signatures` and `unsigned`: what a signature covers. */
function signedPart(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = value as JsonObject;
  return rest;
}

/** Whether two keys are the same apart from their signatures (a re-upload may be signed afresh). */
export const sameSignedContent = (a: unknown, b: unknown): boolean => keyJson(signedPart(a)) === keyJson(signedPart(b));

/**
 * The public key of a cross-signing key: its one `keys` entry, named
 * `ed25519:<public key>` with the public key as its value; null otherwise.
 */
export function crossSigningPublicKey(key: { keys: Record<string, string> }): string | null {
  const entries = Object.entries(key.keys);
  if (entries.length !== 1) return null;
  const [id, value] = entries[0];
  return id === `ed25519:${value}` && value.length > 0 ? value : null;
}

/** A copy of `signed` with `extra` added to its `signatures`. */
export function withSignatures<T extends JsonObject>(signed: T, extra: readonly ExtraSignature[]): T {
  if (extra.length === 0) return signed;
  const signatures: Signatures = {};
  const existing = (signed.signatures ?? {}) as Signatures;
  for (const [userId, byKey] of Object.entries(existing)) signatures[userId] = { ...byKey };
  for (const { signerUserId, signerKeyId, signature } of extra) {
    (signatures[signerUserId] ??= {})[signerKeyId] = signature;
  }
  return { ...signed, signatures };
}

/** The signature `signed` carries by `userId` under `keyId`, if any. */
export function signatureBy(signed: JsonObject, userId: string, keyId: string): string | undefined {
  const byUser = (signed.signatures as Signatures | undefined)?.[userId];
  const signature = byUser !== undefined && Object.hasOwn(byUser, keyId) ? byUser[keyId] : undefined;
  return typeof signature === 'string' ? signature : undefined;
}

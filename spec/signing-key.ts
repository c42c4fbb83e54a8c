/**
 * The one-line signing key format shared with Synapse's key files:
 * `ed25519 <version> <unpadded base64 of the 32-byte seed>`.
 */

export interface SigningKey {
  /** Key ID as used in signatures, e.g. `ed25519:a_XyZ1`. */
  keyId: string;
  seed: Buffer;
}

export function parseSigningKey(line: string): SigningKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length !== 3 || parts[0] !== 'ed25519' || !/^[A-Za-z0-9_]+$/.test(parts[1])) {
    throw new Error('signing key must look like "ed25519 <version> <base64 seed>"');
  }
  const seed = Buffer.from(parts[2], 'base64');
  if (seed.length !== 32) throw new Error('signing key seed must be 32 bytes');
  return { keyId: `ed25519:${parts[1]}`, seed };
}

export function formatSigningKey(key: SigningKey): string {
  const version = key.keyId.slice('ed25519:'.length);
  return `ed25519 ${version} ${unpaddedBase64(key.seed)}`;
}

export function unpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

/** URL-safe unpadded Base64 (appendices): `-` and `_` as the 62nd and 63rd characters. */
export function urlSafeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/**
 * Decodes Base64 with or without padding, in either alphabet (appendices:
 * "implementations SHOULD accept input with or without padding"); null if
 * `text` is not Base64.
 */
export function decodeBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

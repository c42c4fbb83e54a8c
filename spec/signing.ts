/**
 * Signing JSON (appendices, "Signing JSON", "Signing Details", "Checking for
 * a Signature") and events (server-server-api, "Signing Events") with ed25519.
 *
 * Keys are node:crypto KeyObjects built from raw 32-byte values by prefixing
 * the fixed DER headers of ed25519 PKCS#8 private keys and SPKI public keys.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { badJson, MatrixError } from './errors';
import { addContentHash, type Hashed } from './event-hashes';
import type { Pdu } from './pdu';
import { redactedView } from './redaction';
import type { RoomVersion } from './room-versions';
import { decodeBase64, unpaddedBase64, type SigningKey } from './signing-key';

/** `signatures`: server name → signing key ID → unpadded Base64 signature. */
export type Signatures = Record<string, Record<string, string>>;

/** `T` with its `signatures` typed as Signatures. */
export type Signed<T> = { [K in keyof T as K extends 'signatures' ? never : K]: T[K] } & { signatures: Signatures };

export interface SigningKeyPair {
  /** `ed25519:<version>`, as it appears in `signatures` and key listings. */
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The raw 32-byte public key in unpadded Base64, as published in `verify_keys`. */
  readonly publicKeyBase64: string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SEED_BYTES = 32;
const SIGNATURE_BYTES = 64;

const keyPairs = new WeakMap<SigningKey, SigningKeyPair>();

/** The key pair of a parsed signing key (spec/signing-key.ts), built once per key. */
export function signingKeyPair(key: SigningKey): SigningKeyPair {
  let pair = keyPairs.get(key);
  if (pair === undefined) {
    if (key.seed.length !== SEED_BYTES) throw new Error('an ed25519 seed is 32 bytes');
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key.seed]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    pair = { keyId: key.keyId, privateKey, publicKey, publicKeyBase64: unpaddedBase64(spki.subarray(SPKI_ED25519_PREFIX.length)) };
    keyPairs.set(key, pair);
  }
  return pair;
}

export function publicKeyBase64(key: SigningKey): string {
  return signingKeyPair(key).publicKeyBase64;
}

const MAX_CACHED_VERIFY_KEYS = 4096;
const verifyKeys = new Map<string, KeyObject | null>();

/** The KeyObject of a published ed25519 public key; null if it is not 32 bytes of Base64. */
function verificationKey(publicKeyBase64: string): KeyObject | null {
  let key = verifyKeys.get(publicKeyBase64);
  if (key === undefined) {
    const raw = decodeBase64(publicKeyBase64);
    key = null;
    if (raw !== null && raw.length === SEED_BYTES) {
      try {
        key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
      } catch {
        key = null;
      }
    }
    if (verifyKeys.size >= MAX_CACHED_VERIFY_KEYS) verifyKeys.delete(verifyKeys.keys().next().value as string);
    verifyKeys.set(publicKeyBase64, key);
  }
  return key;
}

const LENIENT = { strict: false };

/** What a signature covers: the canonical JSON of the object without `signatures` and `unsigned`. */
function signedBytes(json: object): Buffer {
  const { signatures: _signatures, unsigned: _unsigned, ...covered } = json as Record<string, unknown>;
  return Buffer.from(canonicalJson(covered, LENIENT), 'utf8');
}

function existingSignatures(json: object): Signatures {
  const signatures = (json as { signatures?: unknown }).signatures;
  if (signatures === undefined) return {};
  if (!isObject(signatures) || !Object.values(signatures).every(isObject)) {
    throw badJson('`signatures` must be an object of objects');
  }
  return signatures as Signatures;
}

function withSignature<T extends object>(json: T, serverName: string, keyId: string, signature: string): Signed<T> {
  const signatures = existingSignatures(json);
  const own = Object.hasOwn(signatures, serverName) ? signatures[serverName] : {};
  return { ...json, signatures: { ...signatures, [serverName]: { ...own, [keyId]: signature } } } as Signed<T>;
}

/** A copy of `json` signed by `serverName` with `key`, keeping the signatures it already had. */
export function signJson<T extends object>(json: T, serverName: string, key: SigningKeyPair): Signed<T> {
  const signature = unpaddedBase64(sign(null, signedBytes(json), key.privateKey));
  return withSignature(json, serverName, key.keyId, signature);
}

/**
 * Whether `json` carries a valid signature by `serverName` under `keyId`,
 * checked with the given public key (unpadded Base64). False for an algorithm
 * other than ed25519, a missing or undecodable signature, a bad key, or an
 * object with no canonical JSON (a lone surrogate, say).
 */
export function verifyJsonSignature(json: object, serverName: string, keyId: string, publicKeyBase64: string): boolean {
  if (!keyId.startsWith('ed25519:')) return false;
  const signatures = (json as { signatures?: unknown }).signatures;
  if (!isObject(signatures) || !Object.hasOwn(signatures, serverName)) return false;
  const byServer = signatures[serverName];
  if (!isObject(byServer) || !Object.hasOwn(byServer, keyId) || typeof byServer[keyId] !== 'string') return false;
  const signature = decodeBase64(byServer[keyId]);
  if (signature === null || signature.length !== SIGNATURE_BYTES) return false;
  const key = verificationKey(publicKeyBase64);
  if (key === null) return false;
  let bytes: Buffer;
  try {
    bytes = signedBytes(json);
  } catch (err) {
    if (err instanceof MatrixError) return false; // nothing that has no canonical JSON can carry a valid signature
    throw err;
  }
  return verify(null, bytes, key, signature);
}

/**
 * Hashes and signs an event being built: sets `hashes.sha256` to its content
 * hash, signs its redacted form, and returns a copy with the signature added.
 */
export function signEvent<T extends object>(
  event: T,
  version: RoomVersion,
  serverName: string,
  key: SigningKeyPair,
): Signed<Hashed<T>> {
  return addEventSignature(addContentHash(event), version, serverName, key);
}

/** Adds a signature to an already hashed event (e.g. an invite the invited server countersigns), leaving its hashes alone. */
export function addEventSignature<T extends object>(
  event: T,
  version: RoomVersion,
  serverName: string,
  key: SigningKeyPair,
): Signed<T> {
  const signature = unpaddedBase64(sign(null, signedBytes(redactedView(event, version)), key.privateKey));
  return withSignature(event, serverName, key.keyId, signature);
}

/** Whether the event's redacted form carries a valid signature by `serverName` under `keyId`; holds for a full or a redacted copy alike. */
export function verifyEventSignature(
  pdu: Pdu,
  version: RoomVersion,
  serverName: string,
  keyId: string,
  publicKeyBase64: string,
): boolean {
  return verifyJsonSignature(redactedView(pdu, version), serverName, keyId, publicKeyBase64);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checking a server key document received from the server itself or from a
 * notary (server-server-api, "Retrieving server keys"; appendices, "Checking
 * for a Signature").
 */
import { serverKeysDocument, type ServerKeysDocument } from '../../spec/schemas/server-keys';
import { verifyJsonSignature } from '../../spec/signing';
import { decodeBase64 } from '../../spec/signing-key';
import type { ResponseKey } from '../../storage/server-keys';

export interface CheckedDocument {
  /** The document with only its server's own signatures: what a notary passes on and we store. */
  document: ServerKeysDocument;
  /** The ed25519 keys it lists, current (expiredTs null) and old. */
  keys: ResponseKey[];
}

export class KeyDocumentError extends Error {}

const ED25519 = 'ed25519:';

/** Whether `key` is the unpadded Base64 of 32 bytes, as an ed25519 public key is. */
function isEd25519PublicKey(key: string): boolean {
  return decodeBase64(key)?.length === 32;
}

/**
 * Checks that `json` is a key document of `serverName` signed by every
 * ed25519 key in its verify_keys, and lists its keys. Keys of algorithms
 * other than ed25519 are left out (nothing here could check them).
 * Throws KeyDocumentError saying what is wrong.
 */
export function checkKeyDocument(json: unknown, serverName: string): CheckedDocument {
  if (!serverKeysDocument(json)) {
    const problem = serverKeysDocument.errors?.[0];
    throw new KeyDocumentError(`not a key document: ${problem ? `${problem.instancePath || 'body'} ${problem.message}` : 'invalid'}`);
  }
  if (json.server_name !== serverName) {
    throw new KeyDocumentError(`the document is for ${JSON.stringify(json.server_name)}, not ${serverName}`);
  }
  const current = Object.entries(json.verify_keys).filter(([keyId]) => keyId.startsWith(ED25519));
  if (current.length === 0) throw new KeyDocumentError('no ed25519 key in verify_keys');
  for (const [keyId, { key }] of current) {
    if (!isEd25519PublicKey(key)) throw new KeyDocumentError(`${keyId} is not an ed25519 public key`);
    if (!verifyJsonSignature(json, serverName, keyId, key)) throw new KeyDocumentError(`not signed by its key ${keyId}`);
  }
  const keys: ResponseKey[] = current.map(([keyId, { key }]) => ({ keyId, publicKey: key, expiredTs: null }));
  for (const [keyId, old] of Object.entries(json.old_verify_keys ?? {})) {
    if (keyId.startsWith(ED25519) && !Object.hasOwn(json.verify_keys, keyId) && isEd25519PublicKey(old.key)) {
      keys.push({ keyId, publicKey: old.key, expiredTs: old.expired_ts });
    }
  }
  const document = { ...json, signatures: { [serverName]: json.signatures[serverName] } };
  return { document, keys };
}

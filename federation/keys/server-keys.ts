/**
 * This server's own keys (server-server-api, "Publishing Keys"): the signed
 * document GET /_matrix/key/v2/server answers with, and signing as a notary.
 */
import type { Config } from '../../server/config/schema';
import type { OldVerifyKey, ServerKeysDocument } from '../../spec/schemas/server-keys';
import { signingKeyPair, signJson, type Signed, type SigningKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import type { KeyUse } from './key-validity';

export class OwnServerKeys {
  readonly serverName: string;
  readonly signingKey: SigningKeyPair;
  private readonly oldKeys: Readonly<Record<string, OldVerifyKey>>;
  private readonly validityMs: number;
  private cached: ServerKeysDocument | undefined;

  constructor(config: Config, private readonly now: () => number) {
    this.serverName = config.server_name;
    this.signingKey = signingKeyPair(parseSigningKey(config.signing_key));
    this.oldKeys = Object.fromEntries(
      Object.entries(config.old_signing_keys)
        .filter(([keyId]) => keyId !== this.signingKey.keyId)
        .map(([keyId, old]) => [keyId, { key: old.key, expired_ts: old.expired_ts }]),
    );
    this.validityMs = config.federation.key_validity_ms;
  }

  /**
   * The signed key document, valid for key_validity_ms from when it was
   * signed. It is signed again once half of that has gone, so that no one is
   * handed a document about to expire (keys_server.yaml: not within the hour,
   * and notaries cache for half the lifetime).
   */
  document(): ServerKeysDocument {
    const now = this.now();
    if (this.cached === undefined || now >= this.cached.valid_until_ts - this.validityMs / 2) {
      this.cached = this.sign({
        server_name: this.serverName,
        verify_keys: { [this.signingKey.keyId]: { key: this.signingKey.publicKeyBase64 } },
        old_verify_keys: this.oldKeys,
        valid_until_ts: now + this.validityMs,
      });
    }
    return this.cached;
  }

  /** A copy of `json` with our signature added to those it has. */
  sign<T extends object>(json: T): Signed<T> {
    return signJson(json, this.serverName, this.signingKey);
  }

  /** One of our own public keys, if `keyId` may have made a signature at `atTs` for `use`. */
  publicKey(keyId: string, atTs: number, use: KeyUse): string | undefined {
    if (keyId === this.signingKey.keyId) return this.signingKey.publicKeyBase64;
    const old = Object.hasOwn(this.oldKeys, keyId) ? this.oldKeys[keyId] : undefined;
    if (old === undefined || use.purpose === 'request' || atTs > old.expired_ts) return undefined;
    return old.key;
  }
}

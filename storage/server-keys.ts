/**
 * Other servers' signing keys (federation/keys/key-ring.ts), each with the
 * signed response it came in, which notaries serve as it was received.
 */
import type { Db } from './db';

export interface ServerKeyRow {
  serverName: string;
  keyId: string;
  /** Unpadded Base64 of the ed25519 public key. */
  publicKey: string;
  /** The valid_until_ts of the response the key came in. */
  validUntilTs: number;
  /** Set for a key the server listed in old_verify_keys. */
  expiredTs: number | null;
  /** When we received the response. */
  fetchedTs: number;
  /** The response as signed by the server (its own signatures only). */
  keyJson: string;
}

/** One key of a response. */
export interface ResponseKey {
  keyId: string;
  publicKey: string;
  expiredTs: number | null;
}

/** A verified key response of one server, to be stored. */
export interface KeyResponse {
  serverName: string;
  validUntilTs: number;
  fetchedTs: number;
  keyJson: string;
  keys: ResponseKey[];
}

interface Raw {
  server_name: string;
  key_id: string;
  public_key: string;
  valid_until_ts: number | string;
  expired_ts: number | string | null;
  fetched_ts: number | string;
  key_json: string;
}

const fromRaw = (r: Raw): ServerKeyRow => ({
  serverName: r.server_name,
  keyId: r.key_id,
  publicKey: r.public_key,
  validUntilTs: Number(r.valid_until_ts),
  expiredTs: r.expired_ts === null ? null : Number(r.expired_ts),
  fetchedTs: Number(r.fetched_ts),
  keyJson: r.key_json,
});

export class ServerKeyStore {
  constructor(private readonly db: Db) {}

  async keysOf(serverName: string): Promise<ServerKeyRow[]> {
    const rows: Raw[] = await this.db('server_keys').where({ server_name: serverName }).orderBy('key_id');
    return rows.map(fromRaw);
  }

  /**
   * Records the keys of a response. A key already known from a response valid
   * until later keeps that row: a notary replaying an older response cannot
   * revive a key its server has since retired.
   */
  async storeResponse(response: KeyResponse): Promise<void> {
    if (response.keys.length === 0) return;
    await this.db.transaction(async (trx) => {
      const existing: Pick<Raw, 'key_id' | 'valid_until_ts'>[] = await trx('server_keys')
        .where({ server_name: response.serverName })
        .whereIn('key_id', response.keys.map((k) => k.keyId))
        .select('key_id', 'valid_until_ts');
      const newer = new Set(existing.filter((r) => Number(r.valid_until_ts) > response.validUntilTs).map((r) => r.key_id));
      const rows = response.keys
        .filter((key) => !newer.has(key.keyId))
        .map((key) => ({
          server_name: response.serverName,
          key_id: key.keyId,
          public_key: key.publicKey,
          valid_until_ts: response.validUntilTs,
          expired_ts: key.expiredTs,
          fetched_ts: response.fetchedTs,
          key_json: response.keyJson,
        }));
      if (rows.length > 0) await trx('server_keys').insert(rows).onConflict(['server_name', 'key_id']).merge();
    });
  }
}

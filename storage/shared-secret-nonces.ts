/** One-use nonces for Synapse-style shared-secret registration (/_synapse/admin/v1/register). */
import type { Db } from './db';

export class SharedSecretNonceStore {
  constructor(private readonly db: Db) {}

  async insert(nonce: string, createdTs: number): Promise<void> {
    await this.db('shared_secret_nonces').insert({ nonce, created_ts: createdTs });
  }

  /** Deletes the nonce, so it cannot be used again; returns when it was issued, if it existed. */
  async take(nonce: string): Promise<number | undefined> {
    return this.db.transaction(async (trx) => {
      const row = await trx('shared_secret_nonces').where({ nonce }).first('created_ts');
      if (!row) return undefined;
      const deleted = await trx('shared_secret_nonces').where({ nonce }).delete();
      return deleted > 0 ? Number(row.created_ts) : undefined;
    });
  }

  async deleteCreatedBefore(ts: number): Promise<void> {
    await this.db('shared_secret_nonces').where('created_ts', '<', ts).delete();
  }
}

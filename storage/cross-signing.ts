/**
 * Users' cross-signing keys (master, self-signing, user-signing) and the
 * signatures of master keys uploaded after them. Replacing a master key drops
 * the signatures of the old one.
 */
import { keyJson, type CrossSigningUsage, type JsonObject } from '../spec/e2e-keys';
import type { Db } from './db';
import { listOf } from './transactions';

export interface CrossSigningKeyRow {
  publicKey: string;
  /** As uploaded. */
  key: JsonObject;
}

export type UserCrossSigningKeys = Partial<Record<CrossSigningUsage, CrossSigningKeyRow>>;

export interface MasterKeySignature {
  /** The user whose master key is signed. */
  userId: string;
  publicKey: string;
  signerUserId: string;
  signerKeyId: string;
  signature: string;
}

export class CrossSigningStore {
  constructor(private readonly db: Db) {}

  /** The cross-signing keys of each user that has any. */
  async keysOf(userIds: readonly string[], db: Db = this.db): Promise<Map<string, UserCrossSigningKeys>> {
    const byUser = new Map<string, UserCrossSigningKeys>();
    if (userIds.length === 0) return byUser;
    const rows: { user_id: string; usage: CrossSigningUsage; public_key: string; key_json: string }[] = await db('cross_signing_keys')
      .whereIn('user_id', listOf(db, userIds, 'text'))
      .select('user_id', 'usage', 'public_key', 'key_json');
    for (const r of rows) {
      if (!byUser.has(r.user_id)) byUser.set(r.user_id, {});
      byUser.get(r.user_id)![r.usage] = { publicKey: r.public_key, key: JSON.parse(r.key_json) };
    }
    return byUser;
  }

  async keysOfUser(userId: string, db: Db = this.db): Promise<UserCrossSigningKeys> {
    return (await this.keysOf([userId], db)).get(userId) ?? {};
  }

  /** Sets one of the user's keys; a new master key drops the signatures of the one it replaces. */
  async put(userId: string, usage: CrossSigningUsage, key: CrossSigningKeyRow, trx: Db = this.db): Promise<void> {
    await trx('cross_signing_keys')
      .insert({ user_id: userId, usage, public_key: key.publicKey, key_json: keyJson(key.key) })
      .onConflict(['user_id', 'usage'])
      .merge(['public_key', 'key_json']);
    if (usage === 'master') await trx('master_key_signatures').where({ user_id: userId }).whereNot({ public_key: key.publicKey }).delete();
  }

  /**
   * Signatures of the users' master keys that `viewer` may see: those made by
   * each key's own user (their devices) and those made by `viewer` (if a user).
   */
  async masterKeySignatures(userIds: readonly string[], viewer: string | null, db: Db = this.db): Promise<MasterKeySignature[]> {
    if (userIds.length === 0) return [];
    const rows: { user_id: string; public_key: string; signer_user_id: string; signer_key_id: string; signature: string }[] =
      await db('master_key_signatures')
        .whereIn('user_id', listOf(db, userIds, 'text'))
        .andWhere((q) => {
          q.whereRaw('signer_user_id = user_id');
          if (viewer !== null) q.orWhere('signer_user_id', viewer);
        })
        .select('user_id', 'public_key', 'signer_user_id', 'signer_key_id', 'signature');
    return rows.map((r) => ({
      userId: r.user_id,
      publicKey: r.public_key,
      signerUserId: r.signer_user_id,
      signerKeyId: r.signer_key_id,
      signature: r.signature,
    }));
  }

  async addMasterKeySignatures(signatures: readonly MasterKeySignature[], trx: Db = this.db): Promise<void> {
    if (signatures.length === 0) return;
    await trx('master_key_signatures')
      .insert(signatures.map((s) => ({
        user_id: s.userId,
        public_key: s.publicKey,
        signer_user_id: s.signerUserId,
        signer_key_id: s.signerKeyId,
        signature: s.signature,
      })))
      .onConflict(['user_id', 'public_key', 'signer_user_id', 'signer_key_id'])
      .merge(['signature']);
  }
}

/**
 * Server-side key backups (end_to_end_encryption.md, "Server-side key
 * backups"): which of two keys for one session the server keeps.
 */

/** The metadata of a backed-up session key that decides which copy is kept. */
export interface BackedUpKeyRank {
  is_verified: boolean;
  first_message_index: number;
  forwarded_count: number;
}

/**
 * Whether `candidate` replaces `existing`: a verified key beats an unverified
 * one; then the lower first_message_index wins; then the lower forwarded_count.
 * A tie keeps the existing key.
 */
export function replacesBackedUpKey(existing: BackedUpKeyRank, candidate: BackedUpKeyRank): boolean {
  if (existing.is_verified !== candidate.is_verified) return candidate.is_verified;
  if (existing.first_message_index !== candidate.first_message_index) {
    return candidate.first_message_index < existing.first_message_index;
  }
  return candidate.forwarded_count < existing.forwarded_count;
}

/** The only backup algorithm the spec defines (key_backup.yaml's enum). */
export const BACKUP_ALGORITHMS = ['m.megolm_backup.v1.curve25519-aes-sha2'] as const;

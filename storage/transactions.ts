/**
 * Small helpers shared by the room stores: knowing whether a handle is inside a
 * transaction and acting once that transaction has ended, the dialect, long
 * key lists as one parameter, and batching multi-row writes.
 */
import type { Knex } from 'knex';
import type { Db } from './db';

export const isPostgresDb = (db: Db): boolean => db.client.config.client === 'pg';

/** The transaction `db` belongs to (the outermost, for a nested one); undefined outside transactions. */
export function outermost(db: Db): Knex.Transaction | undefined {
  if (!db.isTransaction) return undefined;
  let trx = db as Knex.Transaction;
  while (trx.parentTransaction) trx = trx.parentTransaction;
  return trx;
}

/**
 * Runs `committed` once the transaction `db` belongs to has committed (at once
 * when `db` is not a transaction), or `rolledBack` if it rolled back. Anything
 * learned inside a transaction must wait for its commit before it is cached:
 * SQLite reuses the row IDs of rolled-back inserts.
 */
export function whenSettled(db: Db, committed: () => void, rolledBack: () => void = () => {}): void {
  const trx = outermost(db);
  if (trx === undefined) committed();
  else trx.executionPromise.then(committed, rolledBack);
}

/**
 * A subquery yielding the members of `keys`, bound as a single JSON parameter:
 * `whereIn(column, listOf(db, keys))` prepares one small statement whatever the
 * list's length, where a placeholder per key would make SQLite parse (and
 * PostgreSQL plan) a new, long statement for every batch.
 */
export function listOf(db: Db, keys: readonly (string | number)[], kind: 'text' | 'bigint'): Knex.QueryBuilder {
  const json = JSON.stringify(keys);
  if (!isPostgresDb(db)) return db.select('value').from(db.raw('json_each(?)', [json]));
  return db.select(db.raw(kind === 'bigint' ? 'jsonb_array_elements_text(?::jsonb)::bigint' : 'jsonb_array_elements_text(?::jsonb)', [json]));
}

/** Rows per batch where rows are written with a placeholder per value. */
export const BATCH = 2000;

export function batches<T>(items: readonly T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

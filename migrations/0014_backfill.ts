/**
 * Stream orderings for history fetched from other servers (backfill): a
 * separate, decreasing sequence below every live position, so /sync, which
 * reads positions above its token, never sees backfilled events, while
 * /messages places them by depth. PostgreSQL takes them from a sequence
 * (negated); SQLite, with its one writer, from the lowest stored minus one.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  if (db.client.config.client === 'pg') await db.raw('create sequence events_backfill_seq');
}

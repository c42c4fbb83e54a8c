/**
 * Outbound federation (docs/federation.md, "Outbound queues"): what waits to be
 * sent to each server, each server's retry state, and how far the room stream
 * has been fanned out to the queues.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // One row per (destination, PDU or EDU) still to deliver; id orders them. A row
  // taken into a transaction carries its txn_id until that transaction succeeds,
  // so a retry resends exactly the same batch under the same ID.
  await db.schema.createTable('federation_outbox', (t) => {
    t.bigIncrements('id').primary();
    t.string('destination', 255).notNullable();
    // 'pdu' (event_id set) or 'edu' (edu_json set).
    t.string('kind', 8).notNullable();
    t.string('event_id', 255).nullable();
    t.text('edu_json').nullable();
    // A newer EDU with the same key replaces an unsent older one (e.g. one typing EDU per room and user).
    t.text('coalesce_key').nullable();
    t.string('txn_id', 64).nullable();
    // Unsent rows of a kind in order (txn_id null), and the rows of one transaction.
    t.index(['destination', 'txn_id', 'kind', 'id'], 'federation_outbox_queue');
    t.index(['destination', 'coalesce_key'], 'federation_outbox_coalesce', { predicate: db.whereNotNull('coalesce_key') });
  });

  // A row per destination that ever failed or succeeded: its backoff, its last success.
  await db.schema.createTable('federation_destinations', (t) => {
    t.string('destination', 255).primary();
    // Failed attempts since the last success; retry_at is when the next may start (null: now).
    t.integer('failures').notNullable().defaultTo(0);
    t.bigInteger('retry_at').nullable();
    t.bigInteger('last_success_ts').nullable();
  });

  // The room stream position up to which local events have been queued: events
  // committed before a crash are queued on the next start.
  await db.schema.createTable('federation_fanout', (t) => {
    t.integer('id').primary();
    t.bigInteger('stream_ordering').notNullable();
  });
  // History from before this migration is not sent: only new events are.
  const row = await db('events').max<{ max: number | string | null }[]>({ max: 'stream_ordering' }).first();
  await db('federation_fanout').insert({ id: 1, stream_ordering: Number(row?.max ?? 0) });
}

/** Uploaded filter definitions, numbered per user from 0. */
import type { Db } from './db';

export class FilterStore {
  constructor(private readonly db: Db) {}

  /** Stores a definition under the user's next filter ID and returns that ID. */
  async add(userId: string, definition: unknown): Promise<number> {
    const filterJson = JSON.stringify(definition);
    // Two concurrent uploads may pick the same next ID; the loser of the insert tries again.
    for (;;) {
      const filterId = await this.db.transaction(async (trx) => {
        const row = await trx('filters').where({ user_id: userId }).max<{ max: number | string | null }[]>({ max: 'filter_id' }).first();
        const next = row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
        const inserted = await trx('filters')
          .insert({ user_id: userId, filter_id: next, filter_json: filterJson })
          .onConflict(['user_id', 'filter_id'])
          .ignore()
          .returning('filter_id');
        return inserted.length > 0 ? next : undefined;
      });
      if (filterId !== undefined) return filterId;
    }
  }

  /** The stored definition, or undefined if the user has no such filter. */
  async get(userId: string, filterId: number): Promise<unknown> {
    const row = await this.db('filters').where({ user_id: userId, filter_id: filterId }).first('filter_json');
    return row === undefined ? undefined : JSON.parse(row.filter_json);
  }
}

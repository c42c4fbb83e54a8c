/** Profile fields (displayname, avatar_url and custom keys), one row per field. */
import type { Db } from './db';

export class ProfileStore {
  constructor(private readonly db: Db) {}

  async get(userId: string, trx: Db = this.db): Promise<Record<string, unknown>> {
    const rows = await trx('profiles').where({ user_id: userId }).select('field', 'value_json');
    return Object.fromEntries(rows.map((r: { field: string; value_json: string }) => [r.field, JSON.parse(r.value_json)]));
  }

  async getField(userId: string, field: string): Promise<unknown> {
    const row = await this.db('profiles').where({ user_id: userId, field }).first('value_json');
    return row === undefined ? undefined : JSON.parse(row.value_json);
  }

  /** Sets a field; `null` removes it. */
  async setField(userId: string, field: string, value: unknown, trx: Db = this.db): Promise<void> {
    if (value === null || value === undefined) {
      await trx('profiles').where({ user_id: userId, field }).delete();
      return;
    }
    await trx('profiles')
      .insert({ user_id: userId, field, value_json: JSON.stringify(value) })
      .onConflict(['user_id', 'field'])
      .merge(['value_json']);
  }

  async clear(userId: string, trx: Db = this.db): Promise<void> {
    await trx('profiles').where({ user_id: userId }).delete();
  }
}

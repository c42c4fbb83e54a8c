/**
 * Who ignores whom (m.ignored_user_list global account data, modules/ignore_users.md),
 * read for many users at once.
 */
import type { Db } from './db';
import { listOf } from './transactions';

export class IgnoredUserStore {
  constructor(private readonly db: Db) {}

  /** Those of `userIds` whose ignore list names `ignored`. */
  async ignoring(ignored: string, userIds: readonly string[], db: Db = this.db): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows: { user_id: string; content_json: string }[] = await db('account_data')
      .where({ room_id: '', type: 'm.ignored_user_list' })
      .whereIn('user_id', listOf(db, userIds, 'text'))
      .select('user_id', 'content_json');
    const out = new Set<string>();
    for (const row of rows) {
      const ignoredUsers = JSON.parse(row.content_json).ignored_users;
      if (typeof ignoredUsers === 'object' && ignoredUsers !== null && Object.hasOwn(ignoredUsers, ignored)) out.add(row.user_id);
    }
    return out;
  }
}

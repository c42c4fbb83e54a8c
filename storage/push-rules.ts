/**
 * What each user changed in their push rules (spec/push/ruleset.ts UserRules),
 * one JSON document per user who changed anything. Every write moves the row
 * to a new, higher stream position: the push_rules stream of /sync.
 */
import { noUserRules, type UserRules } from '../spec/push/ruleset';
import type { Db } from './db';
import { StreamPositions } from './stream-positions';
import { isPostgresDb, listOf } from './transactions';

export class PushRuleStore {
  /** Positions in this stream that readers may rely on (`latest()`), and when a write may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(private readonly db: Db) {
    this.positions = new StreamPositions(db, 'push_rules', 'stream_id');
  }

  /** The users' stored changes; users without any are absent. */
  async getMany(userIds: readonly string[], db: Db = this.db): Promise<Map<string, UserRules>> {
    if (userIds.length === 0) return new Map();
    const rows: { user_id: string; rules_json: string }[] = await db('push_rules')
      .whereIn('user_id', listOf(db, userIds, 'text'))
      .select('user_id', 'rules_json');
    return new Map(rows.map((r) => [r.user_id, JSON.parse(r.rules_json)]));
  }

  /**
   * Applies `change` to the user's stored rules inside `trx`, holding the row
   * (PostgreSQL: a row lock) so that concurrent changes do not lose one another.
   * `change` may throw to leave everything as it was.
   */
  async update(trx: Db, userId: string, change: (current: UserRules) => UserRules): Promise<UserRules> {
    return this.positions.track(
      trx,
      async () => {
        await trx('push_rules').insert({ user_id: userId, rules_json: JSON.stringify(noUserRules()) }).onConflict('user_id').ignore();
        const query = trx('push_rules').where({ user_id: userId }).first('rules_json');
        if (isPostgresDb(trx)) query.forUpdate();
        const row = await query;
        const rules = change(JSON.parse(row.rules_json));
        // On conflict the row takes the stream_id freshly allocated for the insert that did not happen.
        const [written] = await trx('push_rules')
          .insert({ user_id: userId, rules_json: JSON.stringify(rules) })
          .onConflict('user_id')
          .merge({ rules_json: JSON.stringify(rules), stream_id: trx.raw('excluded.stream_id') })
          .returning('stream_id');
        return { rules, streamId: Number(written.stream_id) };
      },
      (result) => result.streamId,
    ).then((result) => result.rules);
  }

  /** Whether the user's rules changed in (after, upTo]. */
  async changedIn(userId: string, after: number, upTo: number): Promise<boolean> {
    const row = await this.db('push_rules')
      .where({ user_id: userId })
      .andWhere('stream_id', '>', after)
      .andWhere('stream_id', '<=', upTo)
      .first('stream_id');
    return row !== undefined;
  }


}

/**
 * Each user's push rules: the push rules API's changes, and the rulesets the
 * evaluator reads for every event, kept in a bounded cache. A change wakes the
 * user's syncs (the push_rules stream sends the new ruleset).
 */
import {
  changeRule,
  deleteRule,
  findRule,
  fullRuleset,
  noUserRules,
  putRule,
  ruleNotFound,
  type DefaultRuleChange,
  type RuleBody,
  type RulePosition,
  type UserRules,
} from '../../spec/push/ruleset';
import type { PushRule, RuleKind, Ruleset } from '../../spec/push/rules';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import { whenSettled } from '../../storage/transactions';
import { WeightedLru } from '../../storage/weighted-lru';
import { userKey, type Notifier } from '../sync/notifier';

/** Rules kept in memory at most, over every cached user. */
const CACHE_RULES = 200_000;

const ruleCount = (ruleset: Ruleset) => Object.values(ruleset).reduce((n, rules) => n + rules.length, 0);

export class PushRules {
  private readonly cache = new WeightedLru<string, Ruleset>(CACHE_RULES, ruleCount);
  /** Bumped by every change, so that a read made before a change never fills the cache after it. */
  private generation = 0;

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
  ) {}

  /** The user's ruleset in force. */
  async ruleset(userId: string): Promise<Ruleset> {
    return (await this.rulesets([userId]))[0];
  }

  /** The rulesets of several users, in the order given (one query for those not cached). */
  async rulesets(userIds: readonly string[], db: Db = this.stores.db): Promise<Ruleset[]> {
    const loaded = new Map<string, Ruleset>();
    const missing: string[] = [];
    for (const id of userIds) {
      const cached = this.cache.get(id);
      if (cached) loaded.set(id, cached);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const generation = this.generation;
      const stored = await this.stores.pushRules.getMany(missing, db);
      const fresh = missing.map((id) => [id, fullRuleset(id, stored.get(id) ?? noUserRules())] as const);
      for (const [id, ruleset] of fresh) loaded.set(id, ruleset);
      whenSettled(db, () => {
        if (generation === this.generation) for (const [id, ruleset] of fresh) this.cache.set(id, ruleset);
      });
    }
    return userIds.map((id) => loaded.get(id)!);
  }

  /** One rule of the user's ruleset; 404 M_NOT_FOUND if there is none. */
  async rule(userId: string, kind: RuleKind, ruleId: string): Promise<PushRule> {
    const rule = findRule(await this.ruleset(userId), kind, ruleId);
    if (!rule) throw ruleNotFound();
    return rule;
  }

  async put(userId: string, kind: RuleKind, ruleId: string, body: RuleBody, position: RulePosition): Promise<void> {
    await this.change(userId, (rules) => putRule(rules, kind, ruleId, body, position));
  }

  async delete(userId: string, kind: RuleKind, ruleId: string): Promise<void> {
    await this.change(userId, (rules) => deleteRule(rules, kind, ruleId));
  }

  /** Sets `enabled` or `actions` of a rule of the user's ruleset, their own or a server default. */
  async modify(userId: string, kind: RuleKind, ruleId: string, change: DefaultRuleChange): Promise<void> {
    await this.change(userId, (rules) => changeRule(rules, kind, ruleId, change));
  }

  private async change(userId: string, fn: (rules: UserRules) => UserRules): Promise<void> {
    const rules = await this.stores.db.transaction((trx) => this.stores.pushRules.update(trx, userId, fn));
    this.generation++;
    this.cache.set(userId, fullRuleset(userId, rules));
    await this.stores.pushRules.positions.caughtUp();
    this.notifier.notify([userKey(userId)]);
  }
}

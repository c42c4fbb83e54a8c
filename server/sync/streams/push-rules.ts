/**
 * The push_rules stream: the user's whole ruleset as the `m.push_rules` event
 * of the global account data, on an initial sync and whenever it changed.
 */
import { eventAllowed } from '../../../spec/filter';
import type { Ruleset } from '../../../spec/push/rules';
import type { Stores } from '../../../storage';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';

export class PushRulesStream implements SyncStream {
  readonly name = 'push_rules' as const;

  constructor(
    private readonly stores: Stores,
    private readonly rules: { ruleset(userId: string): Promise<Ruleset> },
  ) {}

  current(): Promise<number> {
    return this.stores.pushRules.positions.latest();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const { userId } = ctx.requester;
    const filter = ctx.filter.accountData;
    if (!eventAllowed(filter, { type: 'm.push_rules' })) return;
    if (ctx.since !== undefined) {
      const [after, upTo] = [ctx.since[this.name], ctx.to[this.name]];
      if (after >= upTo || !(await this.stores.pushRules.changedIn(userId, after, upTo))) return;
    }
    out.accountData.push({ type: 'm.push_rules', content: { global: await this.rules.ruleset(userId) } });
  }
}

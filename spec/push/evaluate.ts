/**
 * Evaluating a ruleset against an event for one user: the first enabled rule
 * that matches, kind by kind in the spec's order, decides the actions. No
 * match: no notification.
 */
import { outcomeOf, type Outcome } from './actions';
import { conditionHolds, type ConditionContext, type PushEvent } from './conditions';
import { globMatchesWords } from './glob';
import { RULE_KINDS, type PushRule, type RuleKind, type Ruleset } from './rules';

function ruleMatches(kind: RuleKind, rule: PushRule, event: PushEvent, ctx: ConditionContext): boolean {
  switch (kind) {
    case 'room':
      return event.room_id === rule.rule_id;
    case 'sender':
      return event.sender === rule.rule_id;
    case 'content': {
      const body = (event.content as Record<string, unknown> | undefined)?.body;
      return typeof rule.pattern === 'string' && typeof body === 'string' && globMatchesWords(rule.pattern, body);
    }
    default:
      return (rule.conditions ?? []).every((condition) => conditionHolds(condition, event, ctx));
  }
}

/** The rule that decides what the event does for this user, if any. */
export function matchingRule(ruleset: Ruleset, event: PushEvent, ctx: ConditionContext): PushRule | undefined {
  for (const kind of RULE_KINDS) {
    for (const rule of ruleset[kind]) {
      if (rule.enabled && ruleMatches(kind, rule, event, ctx)) return rule;
    }
  }
  return undefined;
}

export interface Evaluation extends Outcome {
  /** The matched rule's actions as they are (legacy entries included), for /notifications. */
  actions: PushRule['actions'];
}

/** The outcome of the event for this user; undefined when no rule matches. */
export function evaluate(ruleset: Ruleset, event: PushEvent, ctx: ConditionContext): Evaluation | undefined {
  const rule = matchingRule(ruleset, event, ctx);
  return rule && { ...outcomeOf(rule.actions), actions: rule.actions };
}

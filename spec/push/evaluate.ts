/**
 * Evaluating a ruleset against an event for one user: the first enabled rule
 * that matches, kind by kind in the spec's order, decides the actions. No
 * match: no notification.
 *
 * An event is evaluated for every member of its room. Apart from
 * contains_display_name, a condition's result depends on the event and the
 * room only, and most users share their rules' condition objects (the
 * predefined rules), so a ConditionMemo made once per event saves evaluating
 * the same condition for each of them.
 */
import { outcomeOf, type Outcome } from './actions';
import { conditionHolds, type ConditionContext, type PushEvent } from './conditions';
import { globMatchesWords } from './glob';
import { RULE_KINDS, type PushCondition, type PushRule, type RuleKind, type Ruleset } from './rules';

/** Results of conditions for one event, by condition object. */
export type ConditionMemo = Map<PushCondition, boolean>;

function holds(condition: PushCondition, event: PushEvent, ctx: ConditionContext, memo: ConditionMemo | undefined): boolean {
  if (memo === undefined || condition.kind === 'contains_display_name') return conditionHolds(condition, event, ctx);
  let result = memo.get(condition);
  if (result === undefined) memo.set(condition, (result = conditionHolds(condition, event, ctx)));
  return result;
}

function ruleMatches(kind: RuleKind, rule: PushRule, event: PushEvent, ctx: ConditionContext, memo: ConditionMemo | undefined): boolean {
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
      return (rule.conditions ?? []).every((condition) => holds(condition, event, ctx, memo));
  }
}

/** The rule that decides what the event does for this user, if any. */
export function matchingRule(ruleset: Ruleset, event: PushEvent, ctx: ConditionContext, memo?: ConditionMemo): PushRule | undefined {
  for (const kind of RULE_KINDS) {
    for (const rule of ruleset[kind]) {
      if (rule.enabled && ruleMatches(kind, rule, event, ctx, memo)) return rule;
    }
  }
  return undefined;
}

export interface Evaluation extends Outcome {
  /** The matched rule's actions as they are (legacy entries included), for /notifications. */
  actions: PushRule['actions'];
}

/** Evaluations by actions list: rules that share their actions (the predefined ones) share one. */
const evaluations = new WeakMap<PushRule['actions'], Evaluation>();

/**
 * The outcome of the event for this user; undefined when no rule matches. Pass
 * the same memo for every user of one event. The result is shared: do not change it.
 */
export function evaluate(ruleset: Ruleset, event: PushEvent, ctx: ConditionContext, memo?: ConditionMemo): Evaluation | undefined {
  const rule = matchingRule(ruleset, event, ctx, memo);
  if (!rule) return undefined;
  let evaluation = evaluations.get(rule.actions);
  if (!evaluation) evaluations.set(rule.actions, (evaluation = { ...outcomeOf(rule.actions), actions: rule.actions }));
  return evaluation;
}

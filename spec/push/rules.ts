/**
 * Push rules as the push module defines them (modules/push.md, "Push Rules";
 * definitions/push_rule.yaml, push_ruleset.yaml, push_condition.yaml): the five
 * kinds in the order they are checked, rules, conditions and actions.
 */

/** The kinds of rule, in the order they are checked. */
export const RULE_KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;

export type RuleKind = (typeof RULE_KINDS)[number];

export const isRuleKind = (value: string): value is RuleKind => (RULE_KINDS as readonly string[]).includes(value);

/** `"notify"` (and the historical `"dont_notify"`, `"coalesce"`), or a `{set_tweak, value}` object. */
export type Action = string | { set_tweak: string; value?: unknown; [key: string]: unknown };

export interface PushCondition {
  kind: string;
  key?: string;
  pattern?: string;
  is?: string;
  value?: string | number | boolean | null;
  [key: string]: unknown;
}

export interface PushRule {
  rule_id: string;
  default: boolean;
  enabled: boolean;
  actions: Action[];
  /** override and underride rules. */
  conditions?: PushCondition[];
  /** content rules. */
  pattern?: string;
}

/** A user's rules of every kind, each list most important first. */
export type Ruleset = Record<RuleKind, PushRule[]>;

/** Server-default rule IDs start with a dot; clients may not create such rules. */
export const isServerDefaultId = (ruleId: string): boolean => ruleId.startsWith('.');

export function emptyRuleset(): Ruleset {
  return { override: [], content: [], room: [], sender: [], underride: [] };
}

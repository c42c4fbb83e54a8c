/**
 * A user's ruleset: what the user changed (their own rules, and the `enabled`
 * and `actions` of server-default rules) laid over the predefined rules, and
 * the changes the push rules API makes (pushrules.yaml).
 */
import { invalidParam, MatrixError, missingParam, notFound } from '../errors';
import { isValidRoomId, MAX_ID_BYTES, parseUserId } from '../identifiers';
import { checkActions } from './actions';
import { checkConditions } from './conditions';
import { MASTER_RULE_ID, predefined, predefinedKind } from './predefined';
import { emptyRuleset, isServerDefaultId, RULE_KINDS, type Action, type PushCondition, type PushRule, type RuleKind, type Ruleset } from './rules';

/** What a user set on a server-default rule. */
export interface DefaultRuleChange {
  enabled?: boolean;
  actions?: Action[];
}

/** Everything a user changed: what is stored. */
export interface UserRules {
  /** The user's own rules of each kind, most important first. */
  own: Ruleset;
  /** Changes to server-default rules, by rule ID. */
  defaults: Record<string, DefaultRuleChange>;
}

export const noUserRules = (): UserRules => ({ own: emptyRuleset(), defaults: {} });

/** The ruleset in force: master, the user's rules, then the other server-default rules, kind by kind. */
export function fullRuleset(userId: string, user: UserRules): Ruleset {
  const ruleset: Ruleset = emptyRuleset();
  const defaults = predefined(userId).map(({ kind, rule }) => {
    const change = user.defaults[rule.rule_id];
    return { kind, rule: change ? { ...rule, ...change } : rule };
  });
  for (const { kind, rule } of defaults) if (rule.rule_id === MASTER_RULE_ID) ruleset[kind].push(rule);
  for (const kind of RULE_KINDS) ruleset[kind].push(...user.own[kind]);
  for (const { kind, rule } of defaults) if (rule.rule_id !== MASTER_RULE_ID) ruleset[kind].push(rule);
  return ruleset;
}

export function findRule(ruleset: Ruleset, kind: RuleKind, ruleId: string): PushRule | undefined {
  return ruleset[kind].find((rule) => rule.rule_id === ruleId);
}

/** The body of PUT /pushrules/global/{kind}/{ruleId}. */
export interface RuleBody {
  actions: Action[];
  conditions?: PushCondition[];
  pattern?: string;
}

export interface RulePosition {
  before?: string;
  after?: string;
}

/** Checks a new rule ID of `kind`: not a server-default ID, no slashes, and a room or user ID for room and sender rules. */
function checkNewRuleId(kind: RuleKind, ruleId: string): void {
  if (ruleId.length === 0) throw invalidParam('The rule ID may not be empty');
  if (isServerDefaultId(ruleId)) throw invalidParam("Rule IDs starting with '.' are reserved for server-default rules");
  if (/[/\\]/.test(ruleId)) throw invalidParam('Rule IDs may not contain slashes or backslashes');
  if (Buffer.byteLength(ruleId, 'utf8') > MAX_ID_BYTES) throw invalidParam(`Rule IDs may not be longer than ${MAX_ID_BYTES} bytes`);
  if (kind === 'room' && !isValidRoomId(ruleId)) throw invalidParam('The rule ID of a room rule is the ID of its room');
  if (kind === 'sender' && !parseUserId(ruleId)) throw invalidParam('The rule ID of a sender rule is the ID of its user');
}

/** The rule a PUT body makes, with the keys of its kind only. */
function ruleFromBody(kind: RuleKind, ruleId: string, body: RuleBody, enabled: boolean): PushRule {
  checkActions(body.actions);
  const rule: PushRule = { rule_id: ruleId, default: false, enabled, actions: body.actions };
  if (kind === 'content') {
    if (body.pattern === undefined) throw missingParam("Content rules need a 'pattern'");
    rule.pattern = body.pattern;
  }
  if (kind === 'override' || kind === 'underride') {
    rule.conditions = body.conditions ?? [];
    checkConditions(rule.conditions);
  }
  return rule;
}

/** Where `before` / `after` puts a rule among `rules` (the rule itself already taken out). */
function insertionIndex(rules: readonly PushRule[], position: RulePosition, fallback: number): number {
  const anchor = position.before ?? position.after;
  if (anchor === undefined) return fallback;
  if (isServerDefaultId(anchor)) throw invalidParam('A rule cannot be placed relative to a server-default rule');
  const index = rules.findIndex((rule) => rule.rule_id === anchor);
  if (index < 0) throw new MatrixError(400, 'M_UNKNOWN', `before/after rule not found: ${anchor}`);
  return position.before !== undefined ? index : index + 1;
}

/**
 * Creates or replaces one of the user's own rules. A new rule is enabled and
 * becomes the most important of its kind unless `before` or `after` (before
 * wins when both are given) places it; a replaced rule keeps its place and
 * whether it is enabled unless moved.
 */
export function putRule(user: UserRules, kind: RuleKind, ruleId: string, body: RuleBody, position: RulePosition = {}): UserRules {
  checkNewRuleId(kind, ruleId);
  const rules = [...user.own[kind]];
  const existing = rules.findIndex((rule) => rule.rule_id === ruleId);
  const enabled = existing < 0 ? true : rules[existing].enabled;
  const rule = ruleFromBody(kind, ruleId, body, enabled);
  if (existing >= 0) rules.splice(existing, 1);
  rules.splice(insertionIndex(rules, position, Math.max(existing, 0)), 0, rule);
  return { ...user, own: { ...user.own, [kind]: rules } };
}

/** Deletes one of the user's own rules; server-default rules cannot be deleted. */
export function deleteRule(user: UserRules, kind: RuleKind, ruleId: string): UserRules {
  if (predefinedKind(ruleId) === kind) throw invalidParam('Server-default rules cannot be deleted');
  const rules = user.own[kind].filter((rule) => rule.rule_id !== ruleId);
  if (rules.length === user.own[kind].length) throw ruleNotFound();
  return { ...user, own: { ...user.own, [kind]: rules } };
}

/** Changes `enabled` or `actions` of any rule, the user's own or a server default. */
export function changeRule(user: UserRules, kind: RuleKind, ruleId: string, change: DefaultRuleChange): UserRules {
  if (change.actions !== undefined) checkActions(change.actions);
  if (predefinedKind(ruleId) === kind) {
    const merged = { ...user.defaults[ruleId], ...change };
    return { ...user, defaults: { ...user.defaults, [ruleId]: merged } };
  }
  const index = user.own[kind].findIndex((rule) => rule.rule_id === ruleId);
  if (index < 0) throw ruleNotFound();
  const rules = [...user.own[kind]];
  rules[index] = { ...rules[index], ...change };
  return { ...user, own: { ...user.own, [kind]: rules } };
}

export const ruleNotFound = () => notFound('The push rule was not found.');

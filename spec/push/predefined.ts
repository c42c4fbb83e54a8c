/**
 * The server-default rules of v1.19 (modules/push.md, "Predefined Rules"), in
 * the spec's order. `.m.rule.master` outranks every rule, the user's own
 * included; the others rank below the user's rules of their kind. The legacy
 * rules that looked for mentions in `body` were removed in v1.17 and are not here.
 */
import type { Action, PushCondition, PushRule, RuleKind } from './rules';

const SOUND_DEFAULT: Action = { set_tweak: 'sound', value: 'default' };
const HIGHLIGHT: Action = { set_tweak: 'highlight' };

const matches = (key: string, pattern: string): PushCondition => ({ kind: 'event_match', key, pattern });
const IS_MEMBER_EVENT = matches('type', 'm.room.member');
const IS_INVITE = matches('content.membership', 'invite');
const INVITE_ACTIONS: Action[] = ['notify', SOUND_DEFAULT];
const MENTION_ACTIONS: Action[] = ['notify', SOUND_DEFAULT, HIGHLIGHT];

export interface PredefinedRule {
  kind: RuleKind;
  rule: PushRule;
}

const rule = (kind: RuleKind, rule_id: string, conditions: PushCondition[], actions: Action[], enabled = true): PredefinedRule => ({
  kind,
  rule: { rule_id, default: true, enabled, conditions, actions },
});

/**
 * Every predefined rule, in order. Two name the user and are made per user;
 * the others are the same objects for every user, so that evaluating an event
 * for many users can remember each condition's result (spec/push/evaluate.ts).
 */
const PREDEFINED: readonly (PredefinedRule | ((userId: string) => PredefinedRule))[] = [
  rule('override', '.m.rule.master', [], [], false),
  rule('override', '.m.rule.suppress_notices', [matches('content.msgtype', 'm.notice')], []),
  (userId) => rule('override', '.m.rule.invite_for_me', [IS_MEMBER_EVENT, IS_INVITE, matches('state_key', userId)], INVITE_ACTIONS),
  rule('override', '.m.rule.member_event', [IS_MEMBER_EVENT], []),
  (userId) =>
    rule('override', '.m.rule.is_user_mention', [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }], MENTION_ACTIONS),
  rule(
    'override',
    '.m.rule.is_room_mention',
    [
      { kind: 'event_property_is', key: 'content.m\\.mentions.room', value: true },
      { kind: 'sender_notification_permission', key: 'room' },
    ],
    ['notify', HIGHLIGHT],
  ),
  rule('override', '.m.rule.tombstone', [matches('type', 'm.room.tombstone'), matches('state_key', '')], ['notify', HIGHLIGHT]),
  rule('override', '.m.rule.reaction', [matches('type', 'm.reaction')], []),
  rule('override', '.m.rule.room.server_acl', [matches('type', 'm.room.server_acl'), matches('state_key', '')], []),
  rule('override', '.m.rule.suppress_edits', [{ kind: 'event_property_is', key: 'content.m\\.relates_to.rel_type', value: 'm.replace' }], []),
  rule('underride', '.m.rule.call', [matches('type', 'm.call.invite')], ['notify', { set_tweak: 'sound', value: 'ring' }]),
  rule(
    'underride',
    '.m.rule.encrypted_room_one_to_one',
    [{ kind: 'room_member_count', is: '2' }, matches('type', 'm.room.encrypted')],
    ['notify', SOUND_DEFAULT],
  ),
  rule('underride', '.m.rule.room_one_to_one', [{ kind: 'room_member_count', is: '2' }, matches('type', 'm.room.message')], ['notify', SOUND_DEFAULT]),
  rule('underride', '.m.rule.message', [matches('type', 'm.room.message')], ['notify']),
  rule('underride', '.m.rule.encrypted', [matches('type', 'm.room.encrypted')], ['notify']),
];

/** The rule that outranks the user's own rules. */
export const MASTER_RULE_ID = '.m.rule.master';

/** The predefined rules for `userId` (`default: true`), in the spec's order. */
export function predefined(userId: string): PredefinedRule[] {
  return PREDEFINED.map((entry) => (typeof entry === 'function' ? entry(userId) : entry));
}

const KIND_OF_DEFAULT = new Map(predefined('@anyone:example.org').map(({ kind, rule }) => [rule.rule_id, kind]));

/** The kind of the predefined rule with this ID, if there is one. */
export function predefinedKind(ruleId: string): RuleKind | undefined {
  return KIND_OF_DEFAULT.get(ruleId);
}

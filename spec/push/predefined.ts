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

interface DefaultRule {
  kind: RuleKind;
  rule_id: string;
  enabled: boolean;
  conditions: PushCondition[];
  actions: Action[];
}

const rule = (kind: RuleKind, rule_id: string, conditions: PushCondition[], actions: Action[], enabled = true): DefaultRule => ({
  kind,
  rule_id,
  enabled,
  conditions,
  actions,
});

/** The predefined rules for `userId`, whose ID some of them name. */
function predefinedRules(userId: string): DefaultRule[] {
  return [
    rule('override', '.m.rule.master', [], [], false),
    rule('override', '.m.rule.suppress_notices', [matches('content.msgtype', 'm.notice')], []),
    rule(
      'override',
      '.m.rule.invite_for_me',
      [matches('type', 'm.room.member'), matches('content.membership', 'invite'), matches('state_key', userId)],
      ['notify', SOUND_DEFAULT],
    ),
    rule('override', '.m.rule.member_event', [matches('type', 'm.room.member')], []),
    rule(
      'override',
      '.m.rule.is_user_mention',
      [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: userId }],
      ['notify', SOUND_DEFAULT, HIGHLIGHT],
    ),
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
}

/** The rule that outranks the user's own rules. */
export const MASTER_RULE_ID = '.m.rule.master';

export interface PredefinedRule {
  kind: RuleKind;
  rule: PushRule;
}

/** The predefined rules for `userId`, as rules (`default: true`), in the spec's order. */
export function predefined(userId: string): PredefinedRule[] {
  return predefinedRules(userId).map(({ kind, rule_id, enabled, conditions, actions }) => ({
    kind,
    rule: { rule_id, default: true, enabled, conditions, actions },
  }));
}

const KIND_OF_DEFAULT = new Map(predefinedRules('@user:example.org').map((r) => [r.rule_id, r.kind]));

/** The kind of the predefined rule with this ID, if there is one. */
export function predefinedKind(ruleId: string): RuleKind | undefined {
  return KIND_OF_DEFAULT.get(ruleId);
}

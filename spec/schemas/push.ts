/**
 * Request bodies of the push module: PUT /pushrules/global/{kind}/{ruleId}
 * (and its /enabled and /actions), and POST /pushers/set (pushrules.yaml,
 * pusher.yaml). The checks the schemas cannot express are in spec/push/.
 */
import type { PusherBody } from '../push/pusher';
import type { RuleBody } from '../push/ruleset';
import type { Action } from '../push/rules';
import { compileSchema } from '../validate';

const actions = { type: 'array', items: { type: ['string', 'object'] } };

const condition = {
  type: 'object',
  required: ['kind'],
  properties: {
    kind: { type: 'string' },
    key: { type: 'string' },
    pattern: { type: 'string' },
    is: { type: 'string' },
    value: { type: ['string', 'integer', 'boolean', 'null'] },
  },
};

export const pushRuleBody = compileSchema<RuleBody>({
  type: 'object',
  required: ['actions'],
  properties: {
    actions,
    conditions: { type: 'array', items: condition },
    pattern: { type: 'string' },
  },
});

export const pushRuleEnabledBody = compileSchema<{ enabled: boolean }>({
  type: 'object',
  required: ['enabled'],
  properties: { enabled: { type: 'boolean' } },
});

export const pushRuleActionsBody = compileSchema<{ actions: Action[] }>({
  type: 'object',
  required: ['actions'],
  properties: { actions },
});

export const pusherBody = compileSchema<PusherBody>({
  type: 'object',
  required: ['kind', 'app_id', 'pushkey'],
  properties: {
    kind: { type: ['string', 'null'] },
    app_id: { type: 'string' },
    pushkey: { type: 'string' },
    app_display_name: { type: 'string' },
    device_display_name: { type: 'string' },
    profile_tag: { type: 'string' },
    lang: { type: 'string' },
    data: {
      type: 'object',
      properties: { url: { type: 'string' }, format: { type: 'string' } },
    },
    append: { type: 'boolean' },
  },
});

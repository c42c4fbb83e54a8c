/** The push rules API (pushrules.yaml): the user's rulesets, and each rule, its `enabled` and its `actions`. */
import { invalidParam } from '../../spec/errors';
import { isRuleKind, type RuleKind } from '../../spec/push/rules';
import { pushRuleActionsBody, pushRuleBody, pushRuleEnabledBody } from '../../spec/schemas/push';
import { authed, type AuthedRequest, type Route } from '../http/route';
import type { Services } from '../services';

const RULES = '/_matrix/client/v3/pushrules';
const RULE = `${RULES}/global/:kind/:ruleId`;

/** The rule a path names. */
function target(req: AuthedRequest<unknown>): { kind: RuleKind; ruleId: string } {
  const { kind, ruleId } = req.params;
  if (!isRuleKind(kind)) throw invalidParam(`Unknown push rule kind '${kind}'`);
  return { kind, ruleId };
}

export function pushRuleRoutes(s: Services): Route<any>[] {
  const { rules } = s.push;
  return [
    authed({ method: 'GET', path: `${RULES}/`, handler: async ({ requester }) => ({ global: await rules.ruleset(requester.userId) }) }),
    authed({ method: 'GET', path: `${RULES}/global/`, handler: ({ requester }) => rules.ruleset(requester.userId) }),
    authed({
      method: 'GET',
      path: RULE,
      handler: (req) => {
        const { kind, ruleId } = target(req);
        return rules.rule(req.requester.userId, kind, ruleId);
      },
    }),
    authed({
      method: 'PUT',
      path: RULE,
      rateLimit: 'request',
      body: pushRuleBody,
      handler: async (req) => {
        const { kind, ruleId } = target(req);
        await rules.put(req.requester.userId, kind, ruleId, req.body, { before: req.query.before, after: req.query.after });
        return {};
      },
    }),
    authed({
      method: 'DELETE',
      path: RULE,
      handler: async (req) => {
        const { kind, ruleId } = target(req);
        await rules.delete(req.requester.userId, kind, ruleId);
        return {};
      },
    }),
    authed({
      method: 'GET',
      path: `${RULE}/enabled`,
      handler: async (req) => {
        const { kind, ruleId } = target(req);
        return { enabled: (await rules.rule(req.requester.userId, kind, ruleId)).enabled };
      },
    }),
    authed({
      method: 'PUT',
      path: `${RULE}/enabled`,
      body: pushRuleEnabledBody,
      handler: async (req) => {
        const { kind, ruleId } = target(req);
        await rules.modify(req.requester.userId, kind, ruleId, { enabled: req.body.enabled });
        return {};
      },
    }),
    authed({
      method: 'GET',
      path: `${RULE}/actions`,
      handler: async (req) => {
        const { kind, ruleId } = target(req);
        return { actions: (await rules.rule(req.requester.userId, kind, ruleId)).actions };
      },
    }),
    authed({
      method: 'PUT',
      path: `${RULE}/actions`,
      body: pushRuleActionsBody,
      handler: async (req) => {
        const { kind, ruleId } = target(req);
        await rules.modify(req.requester.userId, kind, ruleId, { actions: req.body.actions });
        return {};
      },
    }),
  ];
}

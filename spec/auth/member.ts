/** Auth rules for m.room.member: one function per membership. */
import { prevEventIds } from '../pdu';
import { createEventCreator, isJsonObject, ownValue } from '../power-levels';
import { type AuthContext, deny, serverNameOf } from './context';
import { authorizeThirdPartyInvite } from './third-party-invite';

const RULE = 'm.room.member';

export function authorizeMember(ctx: AuthContext): void {
  const { content } = ctx.pdu;
  const target = ctx.pdu.state_key;
  if (typeof target !== 'string' || !Object.hasOwn(content, 'membership')) {
    deny(RULE, 'no state_key or no content.membership');
  }
  if (ctx.version.restrictedJoins && Object.hasOwn(content, 'join_authorised_via_users_server')) {
    checkAuthoriserSigned(ctx, content.join_authorised_via_users_server);
  }
  switch (content.membership) {
    case 'join':
      return authorizeJoin(ctx, target);
    case 'invite':
      return authorizeInvite(ctx, target);
    case 'leave':
      return authorizeLeave(ctx, target);
    case 'ban':
      return authorizeBan(ctx, target);
    case 'knock':
      if (ctx.version.knocking) return authorizeKnock(ctx, target);
  }
  deny(RULE, `unknown membership ${JSON.stringify(content.membership)}`);
}

/**
 * The event must be signed by the authorising user's server. Only the
 * signature's presence is visible here: verifying it is part of the signature
 * checks on receipt, which must include that server.
 */
function checkAuthoriserSigned(ctx: AuthContext, authoriser: unknown): void {
  const server = serverNameOf(authoriser);
  const signatures = server === undefined ? undefined : ownValue(ctx.pdu.signatures, server);
  if (!isJsonObject(signatures) || Object.keys(signatures).length === 0) {
    deny(`${RULE} join_authorised_via_users_server`, `not signed by the server of ${JSON.stringify(authoriser)}`);
  }
}

function isKnockRule(ctx: AuthContext, joinRule: unknown): boolean {
  return (ctx.version.knocking && joinRule === 'knock') || (ctx.version.knockRestricted && joinRule === 'knock_restricted');
}

function isRestrictedRule(ctx: AuthContext, joinRule: unknown): boolean {
  return (ctx.version.restrictedJoins && joinRule === 'restricted') || (ctx.version.knockRestricted && joinRule === 'knock_restricted');
}

function isCreatorsFirstJoin(ctx: AuthContext, target: string): boolean {
  const prev = prevEventIds(ctx.pdu);
  return prev.length === 1 && prev[0] === ctx.create.id && target === createEventCreator(ctx.create.pdu, ctx.version);
}

function authorizeJoin(ctx: AuthContext, target: string): void {
  const rule = `${RULE} join`;
  if (isCreatorsFirstJoin(ctx, target)) return;
  if (ctx.sender !== target) deny(rule, 'the sender is not the state_key');
  const current = ctx.membership(target);
  if (current === 'ban') deny(rule, 'the sender is banned');
  const joinRule = ctx.joinRule();
  if (joinRule === 'invite' || (ctx.version.knocking && joinRule === 'knock')) {
    if (current === 'invite' || current === 'join') return;
    deny(rule, `join rule ${joinRule} and the sender is not invited`);
  }
  if (isRestrictedRule(ctx, joinRule)) {
    if (current === 'invite' || current === 'join') return;
    const authoriser = ctx.pdu.content.join_authorised_via_users_server;
    if (
      typeof authoriser !== 'string' ||
      ctx.membership(authoriser) !== 'join' ||
      ctx.userLevel(authoriser) < ctx.levels.named('invite')
    ) {
      deny(rule, 'join_authorised_via_users_server is not a joined member who may invite');
    }
    return;
  }
  if (joinRule === 'public') return;
  deny(rule, `join rule ${JSON.stringify(joinRule)} admits no join`);
}

function authorizeInvite(ctx: AuthContext, target: string): void {
  const rule = `${RULE} invite`;
  if (Object.hasOwn(ctx.pdu.content, 'third_party_invite')) {
    if (ctx.membership(target) === 'ban') deny(rule, 'the target is banned');
    return authorizeThirdPartyInvite(ctx, target);
  }
  if (ctx.membership(ctx.sender) !== 'join') deny(rule, 'the sender is not joined');
  const current = ctx.membership(target);
  if (current === 'join' || current === 'ban') deny(rule, `the target's membership is ${current}`);
  if (ctx.userLevel(ctx.sender) >= ctx.levels.named('invite')) return;
  deny(rule, "the sender's power level is below the invite level");
}

function authorizeLeave(ctx: AuthContext, target: string): void {
  const rule = `${RULE} leave`;
  const senderMembership = ctx.membership(ctx.sender);
  if (ctx.sender === target) {
    if (senderMembership === 'invite' || senderMembership === 'join') return;
    if (ctx.version.knocking && senderMembership === 'knock') return;
    deny(rule, 'the sender is not invited, joined or knocking');
  }
  if (senderMembership !== 'join') deny(rule, 'the sender is not joined');
  const senderLevel = ctx.userLevel(ctx.sender);
  if (ctx.membership(target) === 'ban' && senderLevel < ctx.levels.named('ban')) {
    deny(rule, "the target is banned and the sender's power level is below the ban level");
  }
  if (senderLevel >= ctx.levels.named('kick') && ctx.userLevel(target) < senderLevel) return;
  deny(rule, "the sender's power level is below the kick level or not above the target's");
}

function authorizeBan(ctx: AuthContext, target: string): void {
  const rule = `${RULE} ban`;
  if (ctx.membership(ctx.sender) !== 'join') deny(rule, 'the sender is not joined');
  const senderLevel = ctx.userLevel(ctx.sender);
  if (senderLevel >= ctx.levels.named('ban') && ctx.userLevel(target) < senderLevel) return;
  deny(rule, "the sender's power level is below the ban level or not above the target's");
}

function authorizeKnock(ctx: AuthContext, target: string): void {
  const rule = `${RULE} knock`;
  if (!isKnockRule(ctx, ctx.joinRule())) deny(rule, 'the join rule does not allow knocking');
  if (ctx.sender !== target) deny(rule, 'the sender is not the state_key');
  const current = ctx.membership(ctx.sender);
  if (current !== 'ban' && current !== 'invite' && current !== 'join') return;
  deny(rule, `the sender's membership is ${current}`);
}

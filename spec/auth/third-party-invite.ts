/**
 * Auth rule for an invite with `content.third_party_invite`: the identity
 * server's `signed` block must name the target and be signed by a key from the
 * room's matching m.room.third_party_invite ("Verifying the invite" in
 * server-server-api.md).
 */
import { stateTuple } from '../pdu';
import { isJsonObject, ownValue } from '../power-levels';
import { verifyJsonSignature } from '../signing';
import { type AuthContext, deny } from './context';

const RULE = 'm.room.member invite third_party_invite';

export function authorizeThirdPartyInvite(ctx: AuthContext, target: string): void {
  const invite = ctx.pdu.content.third_party_invite;
  if (!isJsonObject(invite) || !Object.hasOwn(invite, 'signed')) deny(RULE, 'no signed property');
  const signed = invite.signed;
  if (!isJsonObject(signed) || !Object.hasOwn(signed, 'mxid') || !Object.hasOwn(signed, 'token')) {
    deny(RULE, 'signed lacks mxid or token');
  }
  if (signed.mxid !== target) deny(RULE, 'signed.mxid is not the state_key');
  const token = signed.token;
  const thirdPartyInvite = typeof token === 'string' ? ctx.state.get(stateTuple('m.room.third_party_invite', token)) : undefined;
  if (!thirdPartyInvite) deny(RULE, 'no m.room.third_party_invite has the token as its state_key');
  if (thirdPartyInvite.pdu.sender !== ctx.sender) deny(RULE, 'the sender did not send the m.room.third_party_invite');
  if (signedByAnyKey(signed, publicKeys(thirdPartyInvite.pdu.content))) return;
  deny(RULE, 'no signature in signed matches a public key of the m.room.third_party_invite');
}

/** `public_key` and every `public_keys[].public_key`. */
function publicKeys(content: Record<string, unknown>): string[] {
  const keys: string[] = [];
  const single = ownValue(content, 'public_key');
  if (typeof single === 'string') keys.push(single);
  const list = ownValue(content, 'public_keys');
  if (Array.isArray(list)) {
    for (const entry of list) {
      const key = ownValue(entry, 'public_key');
      if (typeof key === 'string') keys.push(key);
    }
  }
  return keys;
}

function signedByAnyKey(signed: Record<string, unknown>, keys: readonly string[]): boolean {
  const signatures = ownValue(signed, 'signatures');
  if (!isJsonObject(signatures) || keys.length === 0) return false;
  for (const [server, byKeyId] of Object.entries(signatures)) {
    if (!isJsonObject(byKeyId)) continue;
    for (const keyId of Object.keys(byKeyId)) {
      if (keys.some((key) => verifyJsonSignature(signed, server, keyId, key))) return true;
    }
  }
  return false;
}

/**
 * Checking the signatures on a received event (server-server-api,
 * "Validating hashes and signatures on received events"): which servers
 * must have signed it, and whether each did with a key valid at the event's
 * origin_server_ts. The content hash is checked elsewhere, after this.
 */
import { isValidServerName, parseUserId } from '../../spec/identifiers';
import type { Pdu } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import { verifyEventSignature } from '../../spec/signing';
import type { KeyUse } from './key-validity';

/** Why an event's signatures do not pass. */
export class EventSignatureError extends Error {}

/** Looks up a server's public key valid for a signature made at `atTs` (KeyRing.publicKey). */
export type PublicKeyLookup = (serverName: string, keyId: string, atTs: number, use: KeyUse) => Promise<string | undefined>;

/**
 * The servers whose signatures an event needs: the sender's; in room
 * versions 1 and 2 also the server in the event ID; and since room version
 * 8, for a membership naming join_authorised_via_users_server, that user's
 * server (rooms/v8 auth rule 4.2, which leaves the check to this step).
 */
export function requiredSigners(pdu: Pdu, version: RoomVersion): Set<string> {
  const sender = typeof pdu.sender === 'string' ? parseUserId(pdu.sender) : null;
  if (sender === null) throw new EventSignatureError('the sender is not a user ID');
  const servers = new Set([sender.serverName]);
  if (version.eventIdFormat === 'v1') {
    const colon = typeof pdu.event_id === 'string' ? pdu.event_id.indexOf(':') : -1;
    const server = colon < 0 ? '' : (pdu.event_id as string).slice(colon + 1);
    if (!isValidServerName(server)) throw new EventSignatureError('the event ID has no valid server name');
    servers.add(server);
  }
  const content = pdu.content as Record<string, unknown> | undefined;
  if (version.restrictedJoins && pdu.type === 'm.room.member' && content !== undefined && Object.hasOwn(content, 'join_authorised_via_users_server')) {
    const authoriser = content.join_authorised_via_users_server;
    const parsed = typeof authoriser === 'string' ? parseUserId(authoriser) : null;
    if (parsed === null) throw new EventSignatureError('join_authorised_via_users_server is not a user ID');
    servers.add(parsed.serverName);
  }
  return servers;
}

/**
 * Resolves if every required server signed the event (its redacted form)
 * with at least one key we can find valid at origin_server_ts, and every such
 * signature verifies. Signatures under keys we cannot find, or that expired
 * before the event, are skipped, as the spec says (a policy server's, say).
 * Rejects with EventSignatureError otherwise.
 */
export async function checkEventSignatures(pdu: Pdu, version: RoomVersion, publicKey: PublicKeyLookup): Promise<void> {
  await Promise.all([...requiredSigners(pdu, version)].map((server) => checkSignedBy(pdu, version, server, publicKey)));
}

/**
 * Resolves if `server` signed the event with at least one key we can find
 * valid at origin_server_ts and every such signature verifies; rejects with
 * EventSignatureError otherwise. Also for a signature no rule requires (the
 * invited server's on an invite it countersigned).
 */
export async function checkSignedBy(pdu: Pdu, version: RoomVersion, server: string, publicKey: PublicKeyLookup): Promise<void> {
  const atTs = pdu.origin_server_ts;
  if (typeof atTs !== 'number' || !Number.isSafeInteger(atTs)) throw new EventSignatureError('origin_server_ts is not an integer');
  const signatures: unknown = pdu.signatures;
  if (typeof signatures !== 'object' || signatures === null) throw new EventSignatureError('the event has no signatures');
  const use: KeyUse = { purpose: 'event', roomVersion: version };
  const byKey: unknown = Object.hasOwn(signatures, server) ? (signatures as Record<string, unknown>)[server] : undefined;
  if (typeof byKey !== 'object' || byKey === null) throw new EventSignatureError(`not signed by ${server}`);
  const keyIds = Object.keys(byKey).filter((keyId) => keyId.startsWith('ed25519:'));
  const keys = await Promise.all(keyIds.map((keyId) => publicKey(server, keyId, atTs, use)));
  let verified = 0;
  keyIds.forEach((keyId, i) => {
    const key = keys[i];
    if (key === undefined) return;
    if (!verifyEventSignature(pdu, version, server, keyId, key)) throw new EventSignatureError(`bad signature by ${server} with ${keyId}`);
    verified++;
  });
  if (verified === 0) throw new EventSignatureError(`no signature by ${server} with a key valid at ${atTs}`);
}

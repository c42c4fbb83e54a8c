/**
 * Our side of the membership handshakes (server-server-api "Joining Rooms",
 * "Knocking upon a room", "Leaving Rooms", "Inviting to a room"), and the
 * directory and profile queries a client's request may need another server
 * for. This is the room engine's RemoteMemberships and RemoteProfiles
 * (server/rooms/remote-memberships.ts): it talks to other servers and hands
 * back what they answered, checked; the engine stores it.
 *
 * make_X asks a resident server for a template of the membership event; we
 * check it is the event we asked for, fill in origin, origin_server_ts (and in
 * room versions 1-2 an event ID), hash and sign it, and send_X it to the same
 * server. Each candidate server is tried in turn until one completes both steps.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MatrixError } from '../../spec/errors';
import { checkEventFormat } from '../../spec/event-format';
import { checkContentHash, computeEventId, referenceHash } from '../../spec/event-hashes';
import { isValidRoomId, isValidServerName, parseRoomAlias, parseUserId } from '../../spec/identifiers';
import type { Pdu, RoomEvent } from '../../spec/pdu';
import { ROOM_VERSIONS, roomVersion, type RoomVersion } from '../../spec/room-versions';
import { signEvent, type SigningKeyPair } from '../../spec/signing';
import type { ResolvedAlias } from '../../server/rooms/aliases';
import type {
  RemoteJoin,
  RemoteMembershipEvent,
  RemoteMembershipRequest,
  RemoteMemberships,
  RemoteProfiles,
} from '../../server/rooms/remote-memberships';
import { FederationError, type FederationClient } from '../client';
import { checkSignedBy, EventSignatureError } from '../keys/event-signatures';
import type { KeyRing } from '../keys';
import { clientError, malformed, mostTelling } from './errors';

const V1 = '/_matrix/federation/v1';
const V2 = '/_matrix/federation/v2';
const enc = encodeURIComponent;
/** Candidate servers tried for one request at most. */
const MAX_SERVERS = 10;

type Membership = 'join' | 'leave' | 'knock';

export interface HandshakeDeps {
  client: FederationClient;
  keyRing: KeyRing;
  serverName: string;
  signingKey: SigningKeyPair;
  log: Logger;
  now?: () => number;
}

export class MembershipHandshakes implements RemoteMemberships, RemoteProfiles {
  private readonly now: () => number;

  constructor(private readonly deps: HandshakeDeps) {
    this.now = deps.now ?? Date.now;
  }

  async resolveAlias(alias: string): Promise<ResolvedAlias> {
    const server = parseRoomAlias(alias)!.serverName;
    let answer: { room_id?: unknown; servers?: unknown };
    try {
      answer = await this.deps.client.get(server, `${V1}/query/directory`, { query: { room_alias: alias } });
    } catch (err) {
      throw clientError(err, `Could not look up ${alias}`);
    }
    if (typeof answer.room_id !== 'string' || !isValidRoomId(answer.room_id) || !Array.isArray(answer.servers)) {
      throw malformed(server, 'a directory entry without room_id and servers');
    }
    const servers = answer.servers.filter((s): s is string => typeof s === 'string' && isValidServerName(s));
    return { room_id: answer.room_id, servers };
  }

  async profile(userId: string, field?: string): Promise<Record<string, unknown>> {
    const server = parseUserId(userId)!.serverName;
    let answer: unknown;
    try {
      answer = await this.deps.client.get(server, `${V1}/query/profile`, { query: { user_id: userId, field } });
    } catch (err) {
      throw clientError(err, `Could not fetch the profile of ${userId}`);
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw malformed(server, 'a profile that is not an object');
    return answer as Record<string, unknown>;
  }

  join(request: RemoteMembershipRequest): Promise<RemoteJoin> {
    return this.handshake(request, 'join', async (server, version, event) => {
      const answer = await this.sendWithFallback(server, `send_join/${enc(request.roomId)}/${enc(event.id)}`, event.pdu);
      const body = answer as { state?: unknown; auth_chain?: unknown; event?: unknown };
      if (!Array.isArray(body.state) || !Array.isArray(body.auth_chain)) throw malformed(server, 'a send_join answer without state and auth_chain');
      // The resident's copy, when it countersigned the join (restricted rooms): the same event with its signature added.
      const join = isObject(body.event) && sameEvent(body.event, event, version) ? body.event : event.pdu;
      return { origin: server, snapshot: { roomId: request.roomId, version: version.id, state: body.state, authChain: body.auth_chain, join } };
    });
  }

  leave(request: RemoteMembershipRequest): Promise<RemoteMembershipEvent> {
    return this.handshake(request, 'leave', async (server, version, event) => {
      await this.sendWithFallback(server, `send_leave/${enc(request.roomId)}/${enc(event.id)}`, event.pdu);
      return { version, event };
    });
  }

  knock(request: RemoteMembershipRequest): Promise<RemoteMembershipEvent & { knockRoomState: unknown[] }> {
    return this.handshake(request, 'knock', async (server, version, event) => {
      const answer = await this.deps.client.put<{ knock_room_state?: unknown }>(server, `${V1}/send_knock/${enc(request.roomId)}/${enc(event.id)}`, event.pdu);
      const state = isObject(answer) && Array.isArray(answer.knock_room_state) ? answer.knock_room_state : [];
      return { version, event, knockRoomState: state };
    });
  }

  async invite({ roomId, version, event, inviteRoomState }: { roomId: string; version: RoomVersion; event: RoomEvent; inviteRoomState: Pdu[] }): Promise<Pdu> {
    const server = parseUserId(event.pdu.state_key ?? '')?.serverName;
    if (server === undefined) throw new MatrixError(400, 'M_INVALID_PARAM', 'The invitee is not a user ID');
    const path = `invite/${enc(roomId)}/${enc(event.id)}`;
    let answer: unknown;
    try {
      answer = await this.deps.client.put(server, `${V2}/${path}`, { room_version: version.id, event: event.pdu, invite_room_state: inviteRoomState });
    } catch (err) {
      // Servers older than the v2 API take only room versions 1 and 2, in v1's shape.
      if (!(isUnrecognised(err) && version.eventIdFormat === 'v1')) throw clientError(err, `Could not invite through ${server}`);
      try {
        const v1 = await this.deps.client.put(server, `${V1}/${path}`, { ...event.pdu, unsigned: { invite_room_state: inviteRoomState } });
        answer = Array.isArray(v1) ? v1[1] : undefined;
      } catch (errV1) {
        throw clientError(errV1, `Could not invite through ${server}`);
      }
    }
    const signed = isObject(answer) ? answer.event : undefined;
    if (!isObject(signed) || !sameEvent(signed, event, version)) throw malformed(server, 'an invite that is not the one sent');
    const { unsigned: _unsigned, ...pdu } = signed as unknown as Pdu;
    try {
      await checkSignedBy(pdu, version, server, (s, keyId, atTs, use) => this.deps.keyRing.publicKey(s, keyId, atTs, use));
    } catch (err) {
      if (err instanceof EventSignatureError) throw malformed(server, `an invite it did not sign (${err.message})`);
      throw err;
    }
    return pdu;
  }

  /**
   * make_X then `send` through each server in turn; the first success is the
   * answer. Failures of one server (an error, a malformed template) move on
   * to the next; when none succeeds, the most telling failure is thrown.
   */
  private async handshake<T>(
    request: RemoteMembershipRequest,
    membership: Membership,
    send: (server: string, version: RoomVersion, event: RoomEvent) => Promise<T>,
  ): Promise<T> {
    const failures: MatrixError[] = [];
    for (const server of request.servers.slice(0, MAX_SERVERS)) {
      try {
        const { version, template } = await this.makeTemplate(server, request, membership);
        return await send(server, version, this.fill(server, template, version, request, membership));
      } catch (err) {
        if (!(err instanceof MatrixError || err instanceof FederationError)) throw err;
        this.deps.log.info({ err, server, roomId: request.roomId, membership }, 'membership handshake failed');
        failures.push(clientError(err, `${membership} through ${server}`));
      }
    }
    throw mostTelling(failures);
  }

  /** GET make_X: the template, checked to be the membership asked for in a room version we support. */
  private async makeTemplate(server: string, request: RemoteMembershipRequest, membership: Membership): Promise<{ version: RoomVersion; template: Record<string, unknown> }> {
    const ver = membership === 'leave' ? undefined : Object.keys(ROOM_VERSIONS.available);
    const answer = await this.deps.client.get<{ room_version?: unknown; event?: unknown }>(
      server,
      `${V1}/make_${membership}/${enc(request.roomId)}/${enc(request.userId)}`,
      { query: { ver } },
    );
    const versionId = answer?.room_version ?? '1';
    const version = typeof versionId === 'string' ? roomVersion(versionId) : undefined;
    if (!version) throw malformed(server, `a room version this server does not support (${String(versionId)})`);
    const template = answer.event;
    if (
      !isObject(template) ||
      template.room_id !== request.roomId ||
      template.sender !== request.userId ||
      template.state_key !== request.userId ||
      template.type !== 'm.room.member' ||
      !isObject(template.content) ||
      template.content.membership !== membership
    ) {
      throw malformed(server, `a template that is not ${request.userId}'s ${membership}`);
    }
    return { version, template };
  }

  /** The template made our event: our content, origin and timestamp, hashed and signed (room versions 1-2: with an event ID of ours). */
  private fill(server: string, template: Record<string, unknown>, version: RoomVersion, request: RemoteMembershipRequest, membership: Membership): RoomEvent {
    const { hashes: _h, signatures: _s, unsigned: _u, event_id: _e, ...rest } = template;
    const pdu: Record<string, unknown> = {
      ...rest,
      content: { ...(template.content as Record<string, unknown>), ...request.content, membership },
      origin: this.deps.serverName,
      origin_server_ts: this.now(),
    };
    if (version.eventIdFormat === 'v1') pdu.event_id = `$${randomBytes(18).toString('base64url')}:${this.deps.serverName}`;
    const signed = signEvent(pdu, version, this.deps.serverName, this.deps.signingKey) as unknown as Pdu;
    try {
      checkEventFormat(signed, version);
    } catch (err) {
      if (err instanceof MatrixError) throw malformed(server, `a template that makes no valid event (${err.message})`);
      throw err;
    }
    return { id: computeEventId(signed, version), pdu: signed };
  }

  /** PUT the v2 endpoint, or on a server without it (404, 400 M_UNRECOGNIZED) the v1 one, whose answer is [200, body]. */
  private async sendWithFallback(server: string, path: string, pdu: Pdu): Promise<unknown> {
    try {
      return await this.deps.client.put(server, `${V2}/${path}`, pdu);
    } catch (err) {
      if (!isUnrecognised(err)) throw err;
    }
    const answer = await this.deps.client.put(server, `${V1}/${path}`, pdu);
    if (!Array.isArray(answer) || answer.length !== 2) throw malformed(server, 'a v1 answer that is not [200, body]');
    return answer[1];
  }
}

function isUnrecognised(err: unknown): boolean {
  return err instanceof FederationError && err.kind === 'http' && (err.status === 404 || (err.status === 400 && err.errcode === 'M_UNRECOGNIZED'));
}

/** Whether `pdu` is `event` (another server's copy, with its signature added): the same reference hash, and content that matches its hash. */
function sameEvent(pdu: Record<string, unknown>, event: RoomEvent, version: RoomVersion): boolean {
  try {
    checkEventFormat(pdu, version);
    return checkContentHash(pdu) && referenceHash(pdu, version).equals(referenceHash(event.pdu, version));
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

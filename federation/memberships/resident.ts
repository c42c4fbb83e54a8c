/**
 * The resident server's side of the membership handshakes (server-server-api
 * "Joining Rooms", "Restricted rooms", "Knocking upon a room", "Leaving
 * Rooms"), and the invited server's side of "Inviting to a room".
 *
 * make_X answers a template built on the room's current state; send_X checks
 * that the signed event is the membership the origin's user asked for and
 * accepts it through the room engine like any received event (every check on
 * receipt), countersigning a restricted join that one of our users vouches
 * for. An invite of one of our users is checked, countersigned, and stored:
 * through the engine when we are in the room, else as an out-of-band
 * membership with the stripped state it came with. Every endpoint naming a
 * room we are in honours its server ACL.
 */
import { forbidden, invalidParam, MatrixError, notFound } from '../../spec/errors';
import { checkEventFormat } from '../../spec/event-format';
import { checkContentHash, computeEventId, roomIdOfCreateEvent } from '../../spec/event-hashes';
import { parseUserId } from '../../spec/identifiers';
import type { Pdu } from '../../spec/pdu';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import { addEventSignature, type SigningKeyPair } from '../../spec/signing';
import { restrictedJoinAuthoriser } from '../../server/rooms/restricted-join';
import { strippedEvents, strippedStatePdus, type StrippedStateEvent } from '../../server/rooms/stripped-state';
import type { Services } from '../../server/services';
import type { KeyRing } from '../keys';
import { federationPdu, type RoomReads } from '../reads/room-reads';
import type { ServerAccess } from '../reads/server-access';

export type Membership = 'join' | 'leave' | 'knock';

/**
 * Sends a membership event a resident handshake accepted from `origin` on to
 * the room's other servers, as the spec asks of the resident server (the
 * federation sender: it sends only our users' events by itself).
 */
export type MembershipRelay = (roomId: string, eventId: string, origin: string) => void;

export interface ResidentDeps {
  services: Services;
  access: ServerAccess;
  reads: RoomReads;
  keyRing: KeyRing;
  signingKey: SigningKeyPair;
  relay?: MembershipRelay;
}

/** send_join's answer (joins-v2.yaml); v1 wraps it as [200, answer]. */
export interface SendJoinAnswer {
  state: Pdu[];
  auth_chain: Pdu[];
  /** The join with our signature, when we countersigned it (restricted rooms). */
  event?: Pdu;
  servers_in_room: string[];
  members_omitted: boolean;
}

export class ResidentMemberships {
  private readonly serverName: string;

  constructor(private readonly deps: ResidentDeps) {
    this.serverName = deps.services.config.server_name;
  }

  /**
   * GET make_join, make_leave, make_knock: the template of `userId`'s
   * membership event. `ver`: the room versions the origin supports (absent
   * for make_leave, which takes any).
   */
  async make(origin: string, roomId: string, userId: string, membership: Membership, ver?: readonly string[]): Promise<{ room_version: string; event: Record<string, unknown> }> {
    const user = parseUserId(userId);
    if (!user) throw invalidParam(`'${userId}' is not a valid user ID`);
    if (user.serverName !== origin) throw forbidden(`${userId} is not a user of ${origin}`);
    const version = await this.residentRoom(roomId);
    await this.deps.access.checkAcl(origin, roomId);
    if (ver !== undefined && !ver.includes(version.id)) {
      throw new MatrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', `The room has version ${version.id}, which ${origin} does not support`, { room_version: version.id });
    }
    const { template } = await this.deps.services.rooms.membershipTemplate(roomId, userId, membership);
    return { room_version: version.id, event: template };
  }

  /**
   * PUT send_join: accepts the join; answers the room's state before it and
   * the auth chain. With `omitMembers` (the faster-join option), the state
   * leaves out membership events except the heroes' when the room has no name
   * nor canonical alias, and the auth chain leaves out what the state holds.
   */
  async sendJoin(origin: string, roomId: string, eventId: string, raw: unknown, { omitMembers = false } = {}): Promise<SendJoinAnswer> {
    const { version, event, signedHere } = await this.accept(origin, roomId, eventId, raw, 'join');
    const { stores } = this.deps.services;
    const stateIds = (await stores.roomState.stateBefore(eventId)) ?? new Map<string, string>();
    const fullState = [...(await stores.events.get([...stateIds.values()])).values()];
    const join = (await stores.events.get([eventId])).get(eventId)!;
    const servers = new Set<string>();
    for (const stored of fullState) {
      const { type, state_key: stateKey, content } = stored.event.pdu;
      if (type === 'm.room.member' && content.membership === 'join' && stateKey !== undefined) servers.add(stateKey.slice(stateKey.indexOf(':') + 1));
    }
    const state = omitMembers ? await this.withoutMembers(roomId, fullState, event.state_key!) : fullState;
    const inState = new Set(state.map((s) => s.event.id));
    const chain = (await this.deps.reads.authChain(roomId, version, [...state, join])).filter((s) => !omitMembers || !inState.has(s.event.id));
    return {
      state: state.map((s) => federationPdu(s, version, true)),
      auth_chain: chain.map((s) => federationPdu(s, version, true)),
      ...(signedHere && { event }),
      servers_in_room: [...servers],
      members_omitted: omitMembers,
    };
  }

  /** `state` without membership events, except those of the members a client would name the room after. */
  private async withoutMembers<T extends { event: { pdu: Pdu } }>(roomId: string, state: T[], joiner: string): Promise<T[]> {
    const named = state.some(({ event: { pdu } }) => pdu.state_key === '' && (pdu.type === 'm.room.name' || pdu.type === 'm.room.canonical_alias'));
    const heroes = new Set(named ? [] : await this.deps.services.stores.memberships.heroes(roomId, joiner));
    return state.filter(({ event: { pdu } }) => pdu.type !== 'm.room.member' || heroes.has(pdu.state_key!));
  }

  /** PUT send_leave. */
  async sendLeave(origin: string, roomId: string, eventId: string, raw: unknown): Promise<void> {
    await this.accept(origin, roomId, eventId, raw, 'leave');
  }

  /** PUT send_knock: accepts the knock; answers the room's stripped state, as full events. */
  async sendKnock(origin: string, roomId: string, eventId: string, raw: unknown): Promise<{ knock_room_state: Pdu[] }> {
    await this.accept(origin, roomId, eventId, raw, 'knock');
    return { knock_room_state: await strippedStatePdus(this.deps.services.stores, roomId) };
  }

  /**
   * PUT invite (v1 and v2): another server invites one of our users. Answers
   * the event as sent, with our signature added.
   */
  async invite(origin: string, roomId: string, eventId: string, request: { roomVersion: string; event: unknown; inviteRoomState: unknown }): Promise<Record<string, unknown>> {
    const { services, keyRing } = this.deps;
    const version = roomVersion(request.roomVersion);
    if (!version) {
      throw new MatrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', `This server does not support room version ${request.roomVersion}`, { room_version: request.roomVersion });
    }
    const raw = request.event;
    checkEventFormat(raw, version);
    const { unsigned: _unsigned, ...pdu } = raw as Pdu;
    checkMembershipEvent(pdu as Pdu, version, { roomId, eventId, membership: 'invite', origin });
    const invitee = pdu.state_key!;
    if (parseUserId(invitee)?.serverName !== this.serverName) throw invalidParam(`${invitee} is not a user of this server`);
    if (!(await services.stores.users.exists(invitee))) throw forbidden(`There is no user ${invitee} here`);
    if (await services.stores.rooms.get(roomId)) await this.deps.access.checkAcl(origin, roomId);
    if (!checkContentHash(pdu as Pdu) || !(await keyRing.verifyEventSignatures(pdu as Pdu, version))) {
      throw invalidParam('The invite fails its signature or hash check');
    }
    const strippedState = await this.inviteRoomState(request.inviteRoomState, version, roomId);
    const signed = addEventSignature(pdu as Pdu, version, this.serverName, this.deps.signingKey);
    if (await services.rooms.isResident(roomId)) {
      // We are in the room: the invite takes its place in our copy now (it will come again in a transaction).
      const outcome = await services.remoteEvents.receive(origin, roomId, signed);
      if (outcome.status !== 'accepted' && outcome.status !== 'soft_failed') throw forbidden(`The invite is not allowed: ${outcome.reason ?? outcome.status}`);
    } else {
      await services.rooms.outOfBand.store({ roomId, version, event: { id: eventId, pdu: signed }, strippedState });
    }
    return { ...(raw as Record<string, unknown>), signatures: signed.signatures };
  }

  /**
   * The checks every send_X makes, then acceptance through the room engine
   * (with our signature added to a restricted join one of our users authorises).
   */
  private async accept(origin: string, roomId: string, eventId: string, raw: unknown, membership: Membership): Promise<{ version: RoomVersion; event: Pdu; signedHere: boolean }> {
    const { services } = this.deps;
    const version = await this.residentRoom(roomId);
    await this.deps.access.checkAcl(origin, roomId);
    checkEventFormat(raw, version);
    const { unsigned: _unsigned, ...pdu } = raw as Pdu;
    checkMembershipEvent(pdu as Pdu, version, { roomId, eventId, membership, origin });
    if (pdu.state_key !== pdu.sender) throw invalidParam('The state_key of the event must be its sender');
    let event = pdu as Pdu;
    let signedHere = false;
    const authoriser = membership === 'join' && version.restrictedJoins ? pdu.content.join_authorised_via_users_server : undefined;
    if (typeof authoriser === 'string' && parseUserId(authoriser)?.serverName === this.serverName) {
      // We vouch for the join only if the user meets the room's conditions (the auth rules check just the vouching member).
      await restrictedJoinAuthoriser(services.stores, this.serverName, { roomId, version }, pdu.sender);
      event = addEventSignature(event, version, this.serverName, this.deps.signingKey);
      signedHere = true;
    }
    const outcome = await services.remoteEvents.receive(origin, roomId, event);
    if (outcome.status === 'dropped') throw invalidParam(`The event was refused: ${outcome.reason ?? 'dropped'}`);
    if (outcome.status !== 'accepted') throw forbidden(`The ${membership} is not allowed: ${outcome.reason ?? outcome.status}`);
    if (!outcome.alreadyStored) this.deps.relay?.(roomId, eventId, origin);
    return { version, event, signedHere };
  }

  /** The room's version, if we are in it: 404 otherwise (we cannot help anyone in). */
  private async residentRoom(roomId: string): Promise<RoomVersion> {
    const version = await this.deps.access.roomVersion(roomId);
    if (!(await this.deps.services.rooms.isResident(roomId))) throw notFound('This server is not in the room');
    return version;
  }

  /**
   * An invite's invite_room_state as stripped events. From room version 12 it
   * must hold the room's m.room.create event and be events of the room in the
   * room's format, signed by their senders' servers (400 M_INVALID_PARAM
   * otherwise); before, entries are taken as they come, the spec's migration
   * leniency for servers that still send stripped events.
   */
  private async inviteRoomState(entries: unknown, version: RoomVersion, roomId: string): Promise<StrippedStateEvent[]> {
    const list = Array.isArray(entries) ? entries : [];
    if (version.eventFormat !== 'v12') return strippedEvents(list);
    let hasCreate = false;
    for (const entry of list) {
      try {
        checkEventFormat(entry, version);
      } catch (err) {
        if (err instanceof MatrixError) throw invalidParam(`invite_room_state holds an entry that is not an event of room version ${version.id}: ${err.message}`);
        throw err;
      }
      const pdu = entry as Pdu;
      const inRoom = pdu.type === 'm.room.create' ? roomIdOfCreateEvent(pdu, version) : pdu.room_id;
      if (inRoom !== roomId) throw invalidParam('invite_room_state holds an event of another room');
      if (!(await this.deps.keyRing.verifyEventSignatures(pdu, version))) throw invalidParam('invite_room_state holds an event that fails its signature check');
      if (pdu.type === 'm.room.create' && pdu.state_key === '') hasCreate = true;
    }
    if (!hasCreate) throw invalidParam("invite_room_state must hold the room's m.room.create event");
    return strippedEvents(list);
  }
}

/** What every membership event another server hands us must be: 400 M_INVALID_PARAM otherwise. */
function checkMembershipEvent(pdu: Pdu, version: RoomVersion, expected: { roomId: string; eventId: string; membership: string; origin: string }): void {
  if (computeEventId(pdu, version) !== expected.eventId) throw invalidParam('The event is not the one the path names');
  if (pdu.room_id !== expected.roomId) throw invalidParam('The event is not in the room the path names');
  if (pdu.type !== 'm.room.member' || pdu.state_key === undefined) throw invalidParam('The event is not an m.room.member event');
  if (pdu.content.membership !== expected.membership) throw invalidParam(`The event's membership is not ${expected.membership}`);
  if (parseUserId(pdu.sender)?.serverName !== expected.origin) throw invalidParam(`The sender is not a user of ${expected.origin}`);
}

/**
 * The room engine's face to the Client-Server API: creating rooms, sending
 * events and state, redacting, reading events and state as a user may see
 * them, and changing memberships. Route handlers call this; it calls the
 * EventSender and the stores.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClientEvent } from '../../spec/client-event';
import { forbidden, invalidParam, MatrixError, notFound } from '../../spec/errors';
import { isValidServerName, parseRoomAlias, parseUserId } from '../../spec/identifiers';
import { splitStateTuple, stateTuple, type RoomEvent } from '../../spec/pdu';
import { PowerLevels } from '../../spec/power-levels';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import type { CreateRoomBody, UpgradeBody } from '../../spec/schemas/rooms';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import { shownToClients } from '../../storage/events';
import type { Config } from '../config/schema';
import type { Requester } from '../http/route';
import { Aliases, type ResolvedAlias } from './aliases';
import { ClientEvents } from './client-events';
import { parseRoomToken } from './tokens';
import { createRoom } from './create-room';
import { RoomDirectory } from './directory';
import type { EventSender } from './event-sender';
import { requireGuestMayJoin } from './guest-access';
import type { OutOfBandMemberships } from './out-of-band';
import type { RemoteEvents } from './remote-events';
import type { RemoteMemberships } from './remote-memberships';
import { Reports } from './reports';
import { restrictedJoinAuthoriser } from './restricted-join';
import { strippedEvents, strippedStatePdus } from './stripped-state';
import { upgradeRoom } from './upgrade';
import { Visibility } from './visibility';

/** A request to send one event, idempotent per device and transaction ID. */
export interface SendRequest {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  txnId?: string;
  stateKey?: string;
  redacts?: string;
}

/** Work that must commit together with the event. */
type AfterAppend = (trx: Db, event: RoomEvent) => Promise<void>;

type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock';

export class Rooms {
  readonly clientEvents: ClientEvents;
  readonly visibility: Visibility;
  readonly aliases: Aliases;
  readonly directory: RoomDirectory;
  readonly reports: Reports;
  /** Federation's side of joining, leaving, knocking and inviting across servers; unset, other servers' rooms are unknown rooms. */
  private remote: RemoteMemberships | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly sender: EventSender,
    private readonly config: Config,
    private readonly remoteEvents: RemoteEvents,
    /** Memberships of our users in rooms this server is not in. */
    readonly outOfBand: OutOfBandMemberships,
    private readonly now: () => number = Date.now,
  ) {
    this.visibility = new Visibility(stores);
    this.clientEvents = new ClientEvents(stores, this.visibility, now);
    this.aliases = new Aliases(stores, sender, config, this.visibility, now);
    this.directory = new RoomDirectory(stores, config, now);
    this.reports = new Reports(stores, this.visibility, config, now);
  }

  /** Federation connects its side of membership changes here at start-up. */
  setRemote(remote: RemoteMemberships): void {
    this.remote = remote;
  }

  async create(requester: Requester, request: CreateRoomBody): Promise<string> {
    for (const invitee of request.invite ?? []) {
      if (!parseUserId(invitee)) throw new MatrixError(400, 'M_INVALID_PARAM', `'${invitee}' is not a valid user ID`);
    }
    if (request.visibility === 'public') this.directory.checkMayPublish(requester);
    const room = await createRoom(requester.userId, request, {
      sender: this.sender,
      defaultVersion: this.config.default_room_version,
      serverName: this.config.server_name,
      profileOf: (userId) => this.stores.profiles.get(userId),
      reserveAlias: (alias, roomId, creator, appender) => this.aliases.reserve(alias, roomId, creator, appender.trx),
      invitesHere: (invitee) => !this.isRemoteUser(invitee),
    });
    if (request.visibility === 'public') await this.directory.publishNewRoom(room.roomId);
    // Other servers' users are invited once the room exists: their servers must countersign each invite.
    for (const invitee of (request.invite ?? []).filter((id) => this.isRemoteUser(id))) {
      await this.inviteRemote(requester, room.roomId, invitee, { membership: 'invite', ...(request.is_direct && { is_direct: true }) });
    }
    return room.roomId;
  }

  /** Sends an event as the requester; a repeated transaction ID returns the first event's ID. */
  async send(requester: Requester, request: SendRequest, afterAppend?: AfterAppend): Promise<string> {
    const txn = request.txnId === undefined ? undefined : { userId: requester.userId, deviceId: requester.deviceId, txnId: request.txnId };
    if (txn) {
      const earlier = await this.stores.eventTxns.eventFor(txn);
      if (earlier) return earlier;
    }
    return this.sender.inRoom(request.roomId, async (room) => {
      const event = await room.append({
        type: request.type,
        sender: requester.userId,
        content: request.content,
        stateKey: request.stateKey,
        redacts: request.redacts,
      });
      if (txn) await this.stores.eventTxns.record(room.trx, txn, event.id, this.now());
      await afterAppend?.(room.trx, event);
      return event.id;
    });
  }

  /** PUT /state: sets state; re-sending what is already there returns the existing event. */
  async setState(requester: Requester, roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    const current = await this.currentStateEvent(roomId, type, stateKey);
    if (current && current.pdu.sender === requester.userId && isDeepStrictEqual(current.pdu.content, content)) return current.id;
    if (type === 'm.room.member') {
      throw forbidden('Use the membership endpoints (/join, /invite, /leave, /kick, /ban) to change membership');
    }
    return this.send(requester, { roomId, type, stateKey, content });
  }

  /** Redacts an event: its sender may, and anyone at the room's `redact` power level. */
  async redact(requester: Requester, roomId: string, eventId: string, txnId: string, reason?: string): Promise<string> {
    const target = (await this.stores.events.get([eventId])).get(eventId);
    if (!target || target.roomId !== roomId) throw notFound('Unknown event');
    if (target.event.pdu.sender !== requester.userId) {
      const levels = await this.powerLevels(roomId);
      if (levels.user(requester.userId) < levels.named('redact')) throw forbidden("You may not redact other users' events");
    }
    const content = reason === undefined ? {} : { reason };
    return this.send(requester, { roomId, type: 'm.room.redaction', content, txnId, redacts: eventId }, (trx, redaction) =>
      this.stores.events.setRedactedBy(trx, eventId, redaction.id),
    );
  }

  /** GET /rooms/{roomId}/event/{eventId}: the event, if the requester may see it. */
  async event(requester: Requester, roomId: string, eventId: string): Promise<ClientEvent> {
    const stored = (await this.stores.events.get([eventId])).get(eventId);
    if (!stored || stored.roomId !== roomId || !shownToClients(stored) || !(await this.visibility.canSee(requester.userId, stored))) {
      throw notFound('Event not found');
    }
    return this.clientEvents.formatOne(stored, requester);
  }

  /**
   * The state a user may read: the current state while joined (or while the room
   * is world-readable); the state when they left for a former member.
   */
  async readableState(requester: Requester, roomId: string, at?: string): Promise<Map<string, string>> {
    await this.requireRoom(roomId);
    const member = await this.stores.roomState.currentStateEvent(roomId, 'm.room.member', requester.userId);
    const membership = member?.pdu.content.membership;
    let until: number | undefined;
    if (membership !== 'join' && !(await this.visibility.worldReadableNow(roomId))) {
      if (!member || (membership !== 'leave' && membership !== 'ban')) throw forbidden('You are not in this room');
      until = (await this.stores.events.get([member.id])).get(member.id)?.streamOrdering ?? undefined;
      if (at === undefined) return (await this.stores.roomState.stateAfter(member.id)) ?? new Map();
    }
    if (at === undefined) return this.stores.roomState.currentState(roomId);
    return this.stateAtToken(roomId, at, until);
  }

  /** The state after the last event at or before a pagination or sync token, no later than `until`. */
  private async stateAtToken(roomId: string, at: string, until?: number): Promise<Map<string, string>> {
    const token = parseRoomToken(at);
    const stream = Math.min(token.kind === 'stream' ? token.stream : token.point.stream, until ?? Infinity);
    const last = await this.stores.timeline.lastAtOrBefore(roomId, stream);
    return (last && (await this.stores.roomState.stateAfter(last.eventId))) ?? new Map();
  }

  async stateEvents(requester: Requester, roomId: string): Promise<ClientEvent[]> {
    const state = await this.readableState(requester, roomId);
    const stored = await this.stores.events.get([...state.values()]);
    return this.clientEvents.format([...stored.values()], requester);
  }

  async stateContent(requester: Requester, roomId: string, type: string, stateKey: string): Promise<Record<string, unknown>> {
    const state = await this.readableState(requester, roomId);
    const id = state.get(stateTuple(type, stateKey));
    const stored = id === undefined ? undefined : (await this.stores.events.get([id])).get(id);
    if (!stored) throw notFound('Event not found');
    return (await this.clientEvents.formatOne(stored, requester)).content;
  }

  /** GET /members: the member events of the state the requester may read, filtered by membership. */
  async members(
    requester: Requester,
    roomId: string,
    filter: { at?: string; membership?: string; notMembership?: string },
  ): Promise<ClientEvent[]> {
    const state = await this.readableState(requester, roomId, filter.at);
    const ids = [...state].filter(([tuple]) => splitStateTuple(tuple).type === 'm.room.member').map(([, id]) => id);
    const members = [...(await this.stores.events.get(ids)).values()].filter((stored) => {
      const membership = stored.event.pdu.content.membership;
      return (filter.membership === undefined || membership === filter.membership) && (filter.notMembership === undefined || membership !== filter.notMembership);
    });
    return this.clientEvents.format(members, requester);
  }

  /** GET /joined_members: for members of the room only. */
  async joinedMembers(requester: Requester, roomId: string): Promise<Record<string, { display_name?: string; avatar_url?: string }>> {
    if ((await this.currentMembership(roomId, requester.userId)) !== 'join') throw forbidden('You are not in this room');
    const joined: Record<string, { display_name?: string; avatar_url?: string }> = {};
    for (const member of await this.stores.memberships.members(roomId, { membership: 'join' })) {
      const { displayname, avatar_url } = member.event.pdu.content;
      joined[member.userId] = {
        ...(typeof displayname === 'string' && { display_name: displayname }),
        ...(typeof avatar_url === 'string' && { avatar_url }),
      };
    }
    return joined;
  }

  /** The room an alias names and servers that can help join it: ours, or the alias's server's answer; 404 M_NOT_FOUND for an unknown alias. */
  async lookupAlias(alias: string): Promise<ResolvedAlias> {
    const parsed = parseRoomAlias(alias);
    if (!parsed) throw invalidParam(`'${alias}' is not a valid room alias`);
    if (parsed.serverName === this.config.server_name || !this.remote) return this.aliases.resolve(alias);
    return this.remote.resolveAlias(alias);
  }

  /** The room an alias names; 404 M_NOT_FOUND for an unknown alias. */
  async resolveAlias(alias: string): Promise<string> {
    return (await this.lookupAlias(alias)).room_id;
  }

  /** Whether one of our users is joined to the room: then this server takes part in it and changes memberships itself. */
  async isResident(roomId: string): Promise<boolean> {
    if (!(await this.stores.rooms.get(roomId))) return false;
    return this.stores.memberships.anyJoinedOnServer(roomId, this.config.server_name);
  }

  async joinedRooms(userId: string): Promise<string[]> {
    return this.stores.memberships.roomsOf(userId, ['join']);
  }

  /**
   * POST /join and /rooms/{roomId}/join: on this server when it is in the room,
   * else through the `via` servers and the others remoteServers finds.
   */
  async join(requester: Requester, roomId: string, reason?: string, via: readonly string[] = []): Promise<void> {
    const servers = await this.remoteServers(roomId, requester.userId, via);
    if (servers) return this.joinRemote(requester, roomId, reason, servers);
    const room = await this.requireRoom(roomId);
    if (requester.isGuest) await requireGuestMayJoin(this.stores, roomId);
    const profile = await this.stores.profiles.get(requester.userId);
    const target = { roomId, version: roomVersion(room.version)! };
    const authoriser = await restrictedJoinAuthoriser(this.stores, this.config.server_name, target, requester.userId);
    const extra = authoriser === undefined ? profile : { ...profile, join_authorised_via_users_server: authoriser };
    await this.setMembership(requester, roomId, requester.userId, 'join', { reason, extra });
  }

  /**
   * make_join, make_leave, make_knock for another server's user: their
   * membership event built on the room's current state, unsigned (see
   * EventSender.template). A join of a restricted room names a local member
   * who may invite to authorise it. 403 when the auth rules would refuse it.
   */
  async membershipTemplate(roomId: string, userId: string, membership: 'join' | 'leave' | 'knock'): Promise<{ version: RoomVersion; template: Record<string, unknown> }> {
    const room = await this.requireRoom(roomId);
    const version = roomVersion(room.version)!;
    const content: Record<string, unknown> = { membership };
    if (membership === 'join') {
      const authoriser = await restrictedJoinAuthoriser(this.stores, this.config.server_name, { roomId, version }, userId);
      if (authoriser !== undefined) content.join_authorised_via_users_server = authoriser;
    }
    const { template } = await this.sender.template(roomId, { type: 'm.room.member', sender: userId, stateKey: userId, content });
    return { version, template };
  }

  /** POST /rooms/{roomId}/upgrade: the replacement room's ID (see upgrade.ts). */
  async upgrade(requester: Requester, roomId: string, request: UpgradeBody): Promise<string> {
    return upgradeRoom(requester.userId, roomId, request, {
      stores: this.stores,
      sender: this.sender,
      profileOf: (userId) => this.stores.profiles.get(userId),
      now: this.now,
    });
  }

  async leave(requester: Requester, roomId: string, reason?: string): Promise<void> {
    await this.requireRoom(roomId);
    const current = await this.stores.memberships.of(roomId, requester.userId);
    if (current === undefined || current === 'leave' || current === 'ban') {
      throw forbidden('You are not invited to, joined to or knocking on this room');
    }
    const servers = await this.remoteServers(roomId, requester.userId, []);
    if (servers) return this.leaveRemote(requester, roomId, reason, servers);
    await this.setMembership(requester, roomId, requester.userId, 'leave', { reason });
  }

  async invite(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    const current = await this.currentMembership(roomId, target);
    if (current === 'join') throw forbidden(`${target} is already in the room`);
    if (current === 'ban') throw forbidden(`${target} is banned from the room`);
    if (this.isRemoteUser(target)) return this.inviteRemote(requester, roomId, target, { membership: 'invite', ...(reason !== undefined && { reason }) });
    await this.setMembership(requester, roomId, target, 'invite', { reason });
  }

  async kick(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    const current = await this.currentMembership(roomId, target);
    if (current !== 'join' && current !== 'invite' && current !== 'knock') throw forbidden(`${target} is not in the room`);
    await this.setMembership(requester, roomId, target, 'leave', { reason });
  }

  async ban(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    await this.setMembership(requester, roomId, target, 'ban', { reason });
  }

  async unban(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    if ((await this.currentMembership(roomId, target)) !== 'ban') throw forbidden(`${target} is not banned`);
    await this.setMembership(requester, roomId, target, 'leave', { reason });
  }

  async knock(requester: Requester, roomId: string, reason?: string, via: readonly string[] = []): Promise<void> {
    const servers = await this.remoteServers(roomId, requester.userId, via);
    if (servers) {
      const { version, event, knockRoomState } = await this.remote!.knock({ userId: requester.userId, roomId, servers, content: reasonContent(reason) });
      return this.outOfBand.store({ roomId, version, event, strippedState: strippedEvents(knockRoomState) });
    }
    const room = await this.requireRoom(roomId);
    if (!roomVersion(room.version)?.knocking) throw forbidden(`Room version ${room.version} does not support knocking`);
    await this.setMembership(requester, roomId, requester.userId, 'knock', { reason });
  }

  /**
   * The servers to reach a room through when this server is not in it and
   * federation is connected (see serversToReach). Undefined when the room is
   * ours to change (we are in it) or no other server is known.
   */
  private async remoteServers(roomId: string, userId: string, via: readonly string[]): Promise<string[] | undefined> {
    if (!this.remote || (await this.isResident(roomId))) return undefined;
    const servers = await this.serversToReach(roomId, userId, via);
    return servers.length > 0 ? servers : undefined;
  }

  /**
   * Other servers that may answer for a room, in the order to try them:
   * `via`, the server of whoever set the user's membership (an invite's
   * sender), the room ID's server, then the servers of members we last knew
   * to be joined.
   */
  async serversToReach(roomId: string, userId: string, via: readonly string[] = []): Promise<string[]> {
    const candidates = new Set(via);
    const known = (await this.stores.rooms.get(roomId)) !== undefined;
    const membership = known ? await this.stores.roomState.currentStateEvent(roomId, 'm.room.member', userId) : undefined;
    if (membership) candidates.add(serverOf(membership.pdu.sender));
    if (roomId.includes(':')) candidates.add(serverOf(roomId));
    if (known) for (const member of await this.stores.memberships.members(roomId, { membership: 'join' })) candidates.add(serverOf(member.userId));
    candidates.delete(this.config.server_name);
    return [...candidates].filter(isValidServerName);
  }

  private async joinRemote(requester: Requester, roomId: string, reason: string | undefined, servers: string[]): Promise<void> {
    // Whether the room admits guests is not known before joining it.
    if (requester.isGuest) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guests may not join rooms this server is not in');
    const profile = await this.stores.profiles.get(requester.userId);
    const { origin, snapshot } = await this.remote!.join({ userId: requester.userId, roomId, servers, content: { ...profile, ...reasonContent(reason) } });
    const outcome = await this.remoteEvents.acceptRoomState(origin, snapshot);
    if (outcome.status !== 'accepted') {
      throw new MatrixError(502, 'M_UNKNOWN', `The room as ${origin} gave it could not be accepted: ${outcome.reason ?? outcome.status}`);
    }
  }

  /**
   * Rejects an invite or retracts a knock through a resident server. When none
   * takes the leave, it is made here on top of the invite or knock, so the user
   * is not left with an invite they cannot decline.
   */
  private async leaveRemote(requester: Requester, roomId: string, reason: string | undefined, servers: string[]): Promise<void> {
    const content = reasonContent(reason);
    try {
      const { version, event } = await this.remote!.leave({ userId: requester.userId, roomId, servers, content });
      await this.outOfBand.store({ roomId, version, event });
    } catch (err) {
      if (!(err instanceof MatrixError)) throw err;
      const room = await this.requireRoom(roomId);
      const member = await this.stores.roomState.currentStateEvent(roomId, 'm.room.member', requester.userId);
      if (!member) throw err;
      const version = roomVersion(room.version)!;
      const draft = { type: 'm.room.member', sender: requester.userId, stateKey: requester.userId, content: { ...content, membership: 'leave' } };
      await this.outOfBand.store({ roomId, version, event: this.sender.buildOn({ roomId, version }, draft, member) });
    }
  }

  /**
   * Invites another server's user: the invite is built and authorised here,
   * countersigned by their server (PUT /invite), then stored like an event
   * received from it, and the federation sender sends it to the room.
   */
  private async inviteRemote(requester: Requester, roomId: string, target: string, content: Record<string, unknown>): Promise<void> {
    if (!this.remote) throw new MatrixError(502, 'M_UNKNOWN', 'This server does not federate');
    const { room, event } = await this.sender.prepare(roomId, { type: 'm.room.member', sender: requester.userId, stateKey: target, content });
    const inviteRoomState = await strippedStatePdus(this.stores, roomId, requester.userId);
    const signed = await this.remote.invite({ roomId, version: room.version, event, inviteRoomState });
    const outcome = await this.remoteEvents.receive(serverOf(target), roomId, signed);
    if (outcome.status !== 'accepted') throw forbidden(`The invite was not accepted: ${outcome.reason ?? outcome.status}`);
  }

  private isRemoteUser(userId: string): boolean {
    return this.remote !== undefined && parseUserId(userId)?.serverName !== this.config.server_name;
  }

  private async setMembership(
    requester: Requester,
    roomId: string,
    target: string,
    membership: Membership,
    options: { reason?: string; extra?: Record<string, unknown> },
  ): Promise<string> {
    const content: Record<string, unknown> = { ...options.extra, membership };
    if (options.reason !== undefined) content.reason = options.reason;
    return this.send(requester, { roomId, type: 'm.room.member', stateKey: target, content });
  }

  private async currentMembership(roomId: string, userId: string): Promise<string | undefined> {
    await this.requireRoom(roomId);
    return this.stores.memberships.of(roomId, userId);
  }

  private async currentStateEvent(roomId: string, type: string, stateKey: string): Promise<RoomEvent | undefined> {
    await this.requireRoom(roomId);
    return this.stores.roomState.currentStateEvent(roomId, type, stateKey);
  }

  private async powerLevels(roomId: string): Promise<PowerLevels> {
    const room = await this.requireRoom(roomId);
    const state = await this.stores.roomState.currentStateEvents(roomId, [stateTuple('m.room.create', ''), stateTuple('m.room.power_levels', '')]);
    return PowerLevels.fromState(state, roomVersion(room.version)!);
  }

  async requireRoom(roomId: string): Promise<{ roomId: string; version: string }> {
    const room = await this.stores.rooms.get(roomId);
    if (!room) throw notFound('Unknown room');
    return room;
  }
}

/** The server name of a user or room ID: what follows the first colon. */
const serverOf = (id: string): string => id.slice(id.indexOf(':') + 1);

const reasonContent = (reason: string | undefined): Record<string, unknown> => (reason === undefined ? {} : { reason });

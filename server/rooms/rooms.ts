/**
 * The room engine's face to the Client-Server API: creating rooms, sending
 * events and state, redacting, reading events and state as a user may see
 * them, and changing memberships. Route handlers call this; it calls the
 * EventSender and the stores.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClientEvent } from '../../spec/client-event';
import { forbidden, MatrixError, notFound } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import { splitStateTuple, stateTuple, type RoomEvent } from '../../spec/pdu';
import { PowerLevels } from '../../spec/power-levels';
import { roomVersion } from '../../spec/room-versions';
import type { CreateRoomBody, UpgradeBody } from '../../spec/schemas/rooms';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { Config } from '../config/schema';
import type { Requester } from '../http/route';
import { Aliases } from './aliases';
import { ClientEvents } from './client-events';
import { parseRoomToken } from './tokens';
import { createRoom } from './create-room';
import { RoomDirectory } from './directory';
import type { EventSender } from './event-sender';
import { requireGuestMayJoin } from './guest-access';
import { Reports } from './reports';
import { restrictedJoinAuthoriser } from './restricted-join';
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

  constructor(
    private readonly stores: Stores,
    private readonly sender: EventSender,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {
    this.visibility = new Visibility(stores);
    this.clientEvents = new ClientEvents(stores, this.visibility, now);
    this.aliases = new Aliases(stores, sender, config, this.visibility, now);
    this.directory = new RoomDirectory(stores, config, now);
    this.reports = new Reports(stores, this.visibility, config, now);
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
    });
    if (request.visibility === 'public') await this.directory.publishNewRoom(room.roomId);
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
    if (!stored || stored.roomId !== roomId || stored.status !== 'accepted' || !(await this.visibility.canSee(requester.userId, stored))) {
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

  /** The room an alias names; 404 M_NOT_FOUND for an unknown alias. */
  async resolveAlias(alias: string): Promise<string> {
    return (await this.aliases.resolve(alias)).room_id;
  }

  async joinedRooms(userId: string): Promise<string[]> {
    return this.stores.memberships.roomsOf(userId, ['join']);
  }

  /** POST /join and /rooms/{roomId}/join for a room on this server. */
  async join(requester: Requester, roomId: string, reason?: string): Promise<void> {
    const room = await this.requireRoom(roomId);
    if (requester.isGuest) await requireGuestMayJoin(this.stores, roomId);
    const profile = await this.stores.profiles.get(requester.userId);
    const target = { roomId, version: roomVersion(room.version)! };
    const authoriser = await restrictedJoinAuthoriser(this.stores, this.config.server_name, target, requester.userId);
    const extra = authoriser === undefined ? profile : { ...profile, join_authorised_via_users_server: authoriser };
    await this.setMembership(requester, roomId, requester.userId, 'join', { reason, extra });
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
    await this.setMembership(requester, roomId, requester.userId, 'leave', { reason });
  }

  async invite(requester: Requester, roomId: string, target: string, reason?: string): Promise<void> {
    const current = await this.currentMembership(roomId, target);
    if (current === 'join') throw forbidden(`${target} is already in the room`);
    if (current === 'ban') throw forbidden(`${target} is banned from the room`);
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

  async knock(requester: Requester, roomId: string, reason?: string): Promise<void> {
    const room = await this.requireRoom(roomId);
    if (!roomVersion(room.version)?.knocking) throw forbidden(`Room version ${room.version} does not support knocking`);
    await this.setMembership(requester, roomId, requester.userId, 'knock', { reason });
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

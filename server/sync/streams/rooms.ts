/**
 * The room event stream: joined, invited, knocked and left rooms with their
 * timelines and state. Its position is the events' stream ordering.
 *
 * Which section a room goes in follows the user's membership at `to`; a room
 * whose membership changed in (since, to] is new to the client: a new join
 * gets the room's whole state and its latest events, a new leave the events up
 * to the leave, an invite or knock its stripped state.
 */
import { roomAllowed } from '../../../spec/filter';
import { stateTuple } from '../../../spec/pdu';
import type { Stores } from '../../../storage';
import type { StoredEvent } from '../../../storage/events';
import type { MembershipChange, UserMembership } from '../../../storage/memberships';
import type { PersistedEvent } from '../../rooms/event-bus';
import type { ClientEvents } from '../../rooms/client-events';
import { ignoredUsers } from '../../rooms/history-access';
import { strippedStateAt } from '../../rooms/stripped-state';
import { pointBefore, streamToken, topologicalToken } from '../../rooms/tokens';
import type { Visibility } from '../../rooms/visibility';
import { SharedReads } from '../../../storage/shared-reads';
import { roomKey, userKey, type WakeKey } from '../notifier';
import type { JoinedRoom, LeftRoom, RoomSummary, SyncBuilder } from '../response';
import { SyncRoomState, type MemberSelection } from '../room-state';
import { SyncTimelines, type TimelineViewer } from '../room-timeline';
import { SentMembers } from '../sent-members';
import type { SyncContext, SyncStream } from '../stream';
import { RecentEvents } from './recent-events';

/** Whom a new room event concerns: the room, and the target of a membership change (an invitee is not in the room yet). */
export function wakeKeysOf({ event, roomId }: PersistedEvent): WakeKey[] {
  const keys = [roomKey(roomId)];
  if (event.pdu.type === 'm.room.member' && event.pdu.state_key !== undefined) keys.push(userKey(event.pdu.state_key));
  return keys;
}

/** One room's part of a response: where its timeline starts and whether its state goes out whole. */
interface RoomPlan {
  roomId: string;
  /** The timeline covers (after, upTo]; no `after`: the room's latest events. */
  after?: number;
  upTo: number;
  wholeState: boolean;
}

interface Requested {
  ctx: SyncContext;
  viewer: TimelineViewer & { deviceId: string };
  /** Every timeline event in (since, to], by room, when the range is short enough to read at once. */
  recent?: Map<string, StoredEvent[]>;
}

/** Users whose memberships are remembered between their syncs. */
const REMEMBERED_USERS = 20_000;

export class RoomStream implements SyncStream {
  readonly name = 'rooms' as const;
  private readonly timelines: SyncTimelines;
  private readonly state: SyncRoomState;
  private readonly sentMembers = new SentMembers();
  private readonly recent: RecentEvents;
  /** Each user's memberships as of a position (see membershipsAt). */
  private readonly memberships = new Map<string, { position: number; list: UserMembership[] }>();
  /** The state group a room was in at a stream position: fixed once the position is readable, and asked by every member at once. */
  private readonly stateGroupsAt = new SharedReads<number | undefined>(3_600_000, 50_000);

  constructor(
    private readonly stores: Stores,
    visibility: Visibility,
    private readonly clientEvents: ClientEvents,
  ) {
    this.timelines = new SyncTimelines(stores, visibility);
    this.state = new SyncRoomState(stores);
    this.recent = new RecentEvents(stores);
  }

  current(): Promise<number> {
    return this.stores.events.latestStreamOrdering();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const { userId, deviceId } = ctx.requester;
    const since = ctx.since?.rooms;
    const to = ctx.to.rooms;
    const recent = since === undefined ? undefined : await this.recent.byRoom(since, to);
    const memberships = await this.membershipsAt(userId, to, since, recent);
    const changed = since === undefined ? [] : memberships.filter((m) => m.streamOrdering !== null && m.streamOrdering > since);
    const before = since === undefined ? new Map<string, UserMembership>() : await this.stores.memberships.atPosition(userId, changed.map((m) => m.roomId), since);
    const changedRooms = new Set(changed.map((m) => m.roomId));

    const joined = new Set<string>();
    const newlyJoined = new Set<string>();
    const newlyLeft = new Set<string>();
    const plans: RoomPlan[] = [];
    const leftPlans: RoomPlan[] = [];
    const pending: UserMembership[] = [];
    const includeOldLeaves = since === undefined && ctx.filter.room.includeLeave;
    const forgotten = includeOldLeaves ? await this.stores.forgottenRooms.roomsForgottenBy(userId) : new Set<string>();

    for (const m of memberships) {
      const isNew = since === undefined || changedRooms.has(m.roomId);
      const was = before.get(m.roomId)?.membership;
      if (m.membership === 'join') {
        joined.add(m.roomId);
        const freshJoin = since !== undefined && isNew && was !== 'join';
        if (freshJoin) newlyJoined.add(m.roomId);
        const fromStart = since === undefined || freshJoin;
        plans.push({ roomId: m.roomId, after: fromStart ? undefined : since, upTo: to, wholeState: fromStart || ctx.fullState });
      } else if (m.membership === 'invite' || m.membership === 'knock') {
        if (isNew) pending.push(m);
      } else if (since !== undefined ? isNew && was !== undefined && was !== m.membership : includeOldLeaves && !forgotten.has(m.roomId)) {
        if (was === 'join') newlyLeft.add(m.roomId);
        leftPlans.push({ roomId: m.roomId, after: since, upTo: m.streamOrdering ?? to, wholeState: since === undefined || ctx.fullState });
      }
    }
    let changes: Promise<MembershipChange[]> | undefined;
    ctx.rooms = {
      joined,
      newlyJoined,
      newlyLeft,
      membershipChanges: () => (changes ??= since === undefined ? Promise.resolve([]) : this.membershipChanges([...joined, ...newlyLeft], since, to, recent)),
    };

    const requested: Requested = {
      ctx,
      viewer: { userId, deviceId, ignored: await ignoredUsers(this.stores, userId), memberships: new Map(memberships.map((m) => [m.roomId, m.membership])) },
      recent,
    };
    await Promise.all([
      ...plans.map((plan) => this.joinedRoom(requested, plan, out)),
      ...leftPlans.map((plan) => this.leftRoom(requested, plan, out)),
      ...pending.map((m) => this.strippedRoom(requested, m, out)),
    ]);
  }

  /**
   * The user's membership of each room at stream position `to`: the current
   * state's, unless that event came after `to` (then the one before it).
   * Remembered between syncs: a list read at position P still holds at `to`
   * when the user has no membership event in (P, to], which the events of
   * (since, to] (`recent`, when read) show without a query.
   */
  private async membershipsAt(userId: string, to: number, since?: number, recent?: Map<string, StoredEvent[]>): Promise<UserMembership[]> {
    const kept = this.memberships.get(userId);
    if (kept && since !== undefined && recent && kept.position >= since && kept.position <= to && !hasMembershipEvent(recent, userId, kept.position)) {
      kept.position = to;
      return kept.list;
    }
    const current = await this.stores.memberships.currentOf(userId);
    const tooNew = current.filter((m) => m.streamOrdering !== null && m.streamOrdering > to);
    const earlier = tooNew.length === 0 ? new Map<string, UserMembership>() : await this.stores.memberships.atPosition(userId, tooNew.map((m) => m.roomId), to);
    const list = current.flatMap((m) => (m.streamOrdering !== null && m.streamOrdering > to ? (earlier.get(m.roomId) ?? []) : [m]));
    this.memberships.delete(userId);
    this.memberships.set(userId, { position: to, list });
    if (this.memberships.size > REMEMBERED_USERS) this.memberships.delete(this.memberships.keys().next().value!);
    return list;
  }

  /** The membership events in (since, to] of the rooms, from `recent` when it holds the range. */
  private async membershipChanges(roomIds: string[], since: number, to: number, recent?: Map<string, StoredEvent[]>): Promise<MembershipChange[]> {
    if (!recent) return this.stores.memberships.changesIn(roomIds, since, to);
    return roomIds
      .flatMap((roomId) => recent.get(roomId) ?? [])
      .filter((stored) => stored.event.pdu.type === 'm.room.member' && typeof stored.event.pdu.content.membership === 'string')
      .sort((a, b) => a.streamOrdering! - b.streamOrdering!)
      .map((stored) => ({
        roomId: stored.roomId,
        userId: stored.event.pdu.state_key!,
        membership: stored.event.pdu.content.membership as string,
        streamOrdering: stored.streamOrdering!,
      }));
  }

  /** The rooms the user is joined to as of room stream position `at`, when this stream read them at that very position; else undefined. */
  joinedRoomsAt(userId: string, at: number): string[] | undefined {
    const kept = this.memberships.get(userId);
    return kept?.position === at ? kept.list.filter((m) => m.membership === 'join').map((m) => m.roomId) : undefined;
  }

  private stateGroupAt(roomId: string, stream: number): Promise<number | undefined> {
    return this.stateGroupsAt.get(`${roomId} ${stream}`, () => this.stores.timeline.stateGroupAt(roomId, stream));
  }

  private async joinedRoom(requested: Requested, plan: RoomPlan, out: SyncBuilder): Promise<void> {
    await this.roomSection(requested, plan, () => out.joinedRoom(plan.roomId), true);
  }

  private async leftRoom(requested: Requested, plan: RoomPlan, out: SyncBuilder): Promise<void> {
    await this.roomSection(requested, plan, () => out.leftRoom(plan.roomId), false);
  }

  /**
   * Fills a joined or left room's timeline, state and (joined, when its members
   * may have changed) summary; nothing, and no entry, when the filter leaves the
   * room out or, on an incremental sync, nothing happened in it.
   */
  private async roomSection(
    { ctx, viewer, recent }: Requested,
    plan: RoomPlan,
    entry: () => JoinedRoom | LeftRoom | undefined,
    joined: boolean,
  ): Promise<void> {
    const { filter } = ctx;
    if (!roomAllowed(filter.room, plan.roomId)) return;
    const since = ctx.since?.rooms;
    const known = plan.after !== undefined && plan.after === since && plan.upTo === ctx.to.rooms ? (recent?.get(plan.roomId) ?? (recent && [])) : undefined;
    const timeline = await this.timelines.select(
      viewer,
      { roomId: plan.roomId, after: plan.after, upTo: plan.upTo, limit: filter.room.timeline.limit! },
      filter.room.timeline,
      known,
    );
    if (!plan.wholeState && timeline.rangeEmpty) return;
    const isMember = (e: StoredEvent) => e.event.pdu.type === 'm.room.member';
    const summary = joined && (plan.wholeState || timeline.limited || timeline.events.some(isMember))
      ? await this.summary(plan.roomId, viewer.userId)
      : undefined;

    const first = timeline.events[0];
    const last = timeline.events.at(-1);
    // The room's state, not the events' own: on a fork the two differ, and clients must see the resolution.
    const groupAtEnd = async () => last?.roomStateAfter ?? (await this.stateGroupAt(plan.roomId, plan.upTo));
    // Before the room's first timeline event (a room joined over federation starts with its join), that event's own state before.
    const groupBeforeTimeline = async () =>
      first ? ((await this.stateGroupAt(plan.roomId, first.streamOrdering! - 1)) ?? first.stateGroupBefore ?? undefined) : await groupAtEnd();
    const stateFrom = ctx.useStateAfter ? await groupAtEnd() : await groupBeforeTimeline();
    const stateFilter = filter.room.state;
    const lazy = stateFilter.lazyLoadMembers;
    const members: MemberSelection = { lazy, wanted: new Set() };
    if (lazy) {
      const wanted = new Set([...timeline.events.map((e) => e.event.pdu.sender), ...(summary?.['m.heroes'] ?? [])]);
      if (plan.wholeState) wanted.add(viewer.userId);
      members.wanted = plan.wholeState || stateFilter.includeRedundantMembers || stateFrom === undefined
        ? wanted
        : this.sentMembers.unsent(viewer, plan.roomId, await this.memberEventsIn(stateFrom, wanted));
    }
    const sinceGroup = plan.wholeState || since === undefined ? undefined : await this.stateGroupAt(plan.roomId, since);
    const stateEvents = plan.wholeState
      ? await this.state.whole(stateFrom, members, stateFilter)
      : await this.state.changes(sinceGroup, stateFrom, members, stateFilter);

    const room = entry();
    if (!room) return;
    if (summary) (room as JoinedRoom).summary = summary;
    const device = { userId: viewer.userId, deviceId: viewer.deviceId };
    room.timeline = {
      events: await this.clientEvents.format(timeline.events, device, { withoutRoomId: true }),
      limited: timeline.limited,
      prev_batch: first ? topologicalToken(pointBefore({ depth: first.depth, streamOrdering: first.streamOrdering! })) : streamToken(plan.upTo),
    };
    const formattedState = await this.clientEvents.format(stateEvents, device, { withoutRoomId: true, withoutAggregations: true });
    if (ctx.useStateAfter) room.state_after = { events: formattedState };
    else if (formattedState.length > 0) room.state = { events: formattedState };
    if (lazy) this.sentMembers.record(viewer, plan.roomId, [...stateEvents, ...timeline.events], plan.wholeState);
  }

  /** Invites and knocks: the room's stripped state as of the membership event. */
  private async strippedRoom({ ctx, viewer }: Requested, m: UserMembership, out: SyncBuilder): Promise<void> {
    if (!roomAllowed(ctx.filter.room, m.roomId)) return;
    if (m.membership === 'invite' && viewer.ignored.has(m.sender)) return;
    const events = await strippedStateAt(this.stores, m.eventId);
    if (m.membership === 'invite') out.invited.set(m.roomId, { invite_state: { events } });
    else out.knocked.set(m.roomId, { knock_state: { events } });
  }

  /** The member events of `users` in the state group. */
  private async memberEventsIn(group: number, users: ReadonlySet<string>): Promise<Map<string, string>> {
    const events = new Map<string, string>();
    for (const userId of users) {
      const id = await this.stores.stateGroups.entry(group, stateTuple('m.room.member', userId));
      if (id !== undefined) events.set(userId, id);
    }
    return events;
  }

  /** Member counts, and heroes when the room has neither a name nor a canonical alias to go by. */
  private async summary(roomId: string, userId: string): Promise<RoomSummary> {
    const [counts, naming] = await Promise.all([
      this.stores.memberships.counts(roomId),
      this.stores.roomState.currentStateEvents(roomId, [stateTuple('m.room.name', ''), stateTuple('m.room.canonical_alias', '')]),
    ]);
    const named = [...naming.values()].some(({ pdu }) => Boolean(pdu.content.name) || Boolean(pdu.content.alias));
    return {
      ...(!named && { 'm.heroes': await this.stores.memberships.heroes(roomId, userId) }),
      'm.joined_member_count': counts.get('join') ?? 0,
      'm.invited_member_count': counts.get('invite') ?? 0,
    };
  }
}

/** Whether `recent` holds a membership event of the user after stream position `after`. */
function hasMembershipEvent(recent: Map<string, StoredEvent[]>, userId: string, after: number): boolean {
  for (const events of recent.values()) {
    for (const stored of events) {
      if (stored.streamOrdering! > after && stored.event.pdu.type === 'm.room.member' && stored.event.pdu.state_key === userId) return true;
    }
  }
  return false;
}

/**
 * GET /sync and the WebSocket sync: one computation over every stream, and the
 * wait for news. A request with a `since` token whose response would be empty
 * waits, up to its timeout, for the notifier to announce a change concerning
 * its user, its device or one of its joined rooms, then computes again.
 */
import type { Filter } from '../../spec/filter';
import type { Stores } from '../../storage';
import { deviceKey, roomKey, userKey, type Notifier, type WakeKey } from './notifier';
import { SyncBuilder, type SyncResponse } from './response';
import type { PresenceSetting, SyncActivityListener, SyncContext, SyncRequester, SyncStream, UnreadCounter } from './stream';
import { formatSyncToken, samePositions, STREAMS, type Positions, type StreamName } from './token';

export interface SyncRequest {
  requester: SyncRequester;
  filter: Filter;
  since?: Positions;
  fullState: boolean;
  useStateAfter: boolean;
  /** How long to wait for news when there is none (ignored on initial and full_state syncs). */
  timeoutMs: number;
  setPresence?: PresenceSetting;
  /** Aborted when the client goes away: stop waiting. */
  signal?: AbortSignal;
  /**
   * Whether `since` confirms that the client received everything up to it (so
   * streams may drop what they kept for redelivery). True for /sync; a
   * WebSocket confirms with its own frames instead.
   */
  sinceIsAcknowledged?: boolean;
  /** The caller holds the requester's activity itself (holdActivity), as a WebSocket does for its life. */
  activityHeld?: boolean;
}

/** What Sync needs of the room stream beyond a stream: the rooms it last found a user joined to. */
export interface RoomStreamLike extends SyncStream {
  /** The user's joined rooms at room position `at`, if the stream knows them without reading. */
  joinedRoomsAt(userId: string, at: number): string[] | undefined;
}

export interface SyncResult {
  response: SyncResponse;
  /** The positions `next_batch` carries. */
  next: Positions;
  /** Whether the response holds anything (always, for an initial sync). */
  news: boolean;
}

export class Sync {
  private readonly streams = new Map<StreamName, SyncStream>();
  private readonly activity = new Set<SyncActivityListener>();
  private unread?: UnreadCounter;

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
    /** The room event stream: it runs first and finds the user's rooms for the others. */
    private readonly rooms: RoomStreamLike,
    private readonly now: () => number = Date.now,
  ) {
    this.register(rooms);
  }

  /** Adds a stream; each stream name is registered once. */
  register(stream: SyncStream): void {
    if (this.streams.has(stream.name)) throw new Error(`stream ${stream.name} is registered twice`);
    this.streams.set(stream.name, stream);
  }

  /** Where unread notification counts of joined rooms come from (the push module). */
  setUnreadCounter(counter: UnreadCounter): void {
    this.unread = counter;
  }

  /** Called at the start of every sync request (presence). */
  onActivity(listener: SyncActivityListener): void {
    this.activity.add(listener);
  }

  /** Every stream's position now. Streams nothing has registered stay at 0. */
  async current(): Promise<Positions> {
    const positions = await Promise.all(STREAMS.map((name) => this.streams.get(name)?.current() ?? 0));
    return Object.fromEntries(STREAMS.map((name, i) => [name, positions[i]])) as Positions;
  }

  async sync(request: SyncRequest): Promise<SyncResult> {
    if (request.activityHeld) return this.respond(request);
    const end = await this.holdActivity(request.requester, request.setPresence);
    try {
      return await this.respond(request);
    } finally {
      end();
    }
  }

  /**
   * Tells the activity listeners (presence) that the requester is syncing, until
   * the returned function is called: for one request, or for a WebSocket's life.
   */
  async holdActivity(requester: SyncRequester, setPresence: PresenceSetting | undefined): Promise<() => void> {
    const ends: (() => void)[] = [];
    for (const listener of this.activity) {
      const end = await listener(requester, setPresence);
      if (end) ends.push(end);
    }
    return () => {
      for (const end of ends) end();
    };
  }

  private async respond(request: SyncRequest): Promise<SyncResult> {
    const { requester } = request;
    const waits = request.since !== undefined && !request.fullState;
    const deadline = this.now() + (waits ? Math.max(0, request.timeoutMs) : 0);
    if (request.since && request.sinceIsAcknowledged !== false) await this.acknowledge(requester, request.since);
    for (;;) {
      const mark = this.notifier.mark();
      const to = await this.current();
      // A token ahead of a stream (a restored database, a clock set back) reads as that stream's present.
      const since = request.since && clamp(request.since, to);
      let result: SyncResult | undefined;
      if (!since || request.fullState || !samePositions(since, to)) {
        const out = await this.compute({ ...request, since, to });
        const next = out.nextPositions();
        result = { response: out.build(formatSyncToken(next)), next, news: !since || out.hasNews() };
        if (!waits || result.news) return result;
      }
      const remaining = deadline - this.now();
      const woken = remaining > 0 && (await this.notifier.wait(await this.wakeKeys(requester, to), mark, remaining, request.signal));
      // The client went away: no one will read an answer, so none is computed (nor the database read while the server stops).
      if (request.signal?.aborted) return result ?? { response: { next_batch: formatSyncToken(since!) }, next: since!, news: false };
      if (woken) continue;
      // Nothing came: answer with the fields every response carries (key counts), computed once.
      if (result) return result;
      const out = await this.compute({ ...request, since, to });
      return { response: out.build(formatSyncToken(since!)), next: since!, news: false };
    }
  }

  /** The client has received everything up to `since`: streams may drop what they kept to deliver again. */
  async acknowledge(requester: SyncRequester, since: Positions): Promise<void> {
    for (const stream of this.streams.values()) await stream.acknowledge?.(requester, since);
  }

  /** The keys whose changes concern the requester: their user, their device and their joined rooms (as of `to`; a later join wakes the user's key). */
  private async wakeKeys(requester: SyncRequester, to: Positions): Promise<WakeKey[]> {
    const rooms = this.rooms.joinedRoomsAt(requester.userId, to.rooms) ?? (await this.stores.memberships.roomsOf(requester.userId, ['join']));
    return [userKey(requester.userId), deviceKey(requester.userId, requester.deviceId), ...rooms.map(roomKey)];
  }

  private async compute(request: SyncRequest & { since?: Positions; to: Positions }): Promise<SyncBuilder> {
    const ctx: SyncContext = {
      requester: request.requester,
      filter: request.filter,
      since: request.since,
      to: request.to,
      fullState: request.fullState,
      useStateAfter: request.useStateAfter,
      rooms: { joined: new Set(), newlyJoined: new Set(), newlyLeft: new Set(), membershipChanges: async () => [] },
    };
    const out = new SyncBuilder(request.filter, request.to);
    await this.rooms.sync(ctx, out);
    await Promise.all([...this.streams.values()].filter((s) => s !== this.rooms).map((stream) => stream.sync(ctx, out)));
    await this.addUnreadCounts(ctx, out);
    return out;
  }

  private async addUnreadCounts(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    if (!this.unread || out.joined.size === 0) return;
    const perThread = ctx.filter.room.timeline.unreadThreadNotifications;
    const counts = await this.unread.counts(ctx.requester.userId, [...out.joined.keys()], perThread, ctx.to.rooms);
    for (const [roomId, room] of out.joined) {
      const found = counts.get(roomId);
      room.unread_notifications = found?.room ?? { notification_count: 0, highlight_count: 0 };
      if (perThread && found?.threads && Object.keys(found.threads).length > 0) room.unread_thread_notifications = found.threads;
    }
  }
}

function clamp(since: Positions, to: Positions): Positions {
  return Object.fromEntries(STREAMS.map((name) => [name, Math.min(since[name], to[name])])) as Positions;
}

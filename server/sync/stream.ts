/**
 * What a stream is to /sync: a position that only grows, and the part of a
 * response that its changes for one requester make. Each stream is one class
 * (server/sync/streams/ and the modules that own the data); the Sync service
 * (sync.ts) asks each for its position and its part, room events first.
 */
import type { Filter } from '../../spec/filter';
import type { MembershipChange } from '../../storage/memberships';
import type { SyncBuilder } from './response';
import type { Positions, StreamName } from './token';

export type PresenceSetting = 'online' | 'offline' | 'unavailable';

export interface SyncRequester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
}

/** The user's rooms as the room stream found them; the other streams read these. */
export interface SyncRooms {
  /** Rooms the user is joined to at `to`, whatever the filter. */
  joined: ReadonlySet<string>;
  /** Rooms whose join falls in (since, to]: everything about them is sent as on an initial sync. */
  newlyJoined: ReadonlySet<string>;
  /** Rooms the user left (or was kicked or banned from) in (since, to]. */
  newlyLeft: ReadonlySet<string>;
  /**
   * The membership events in (since, to] of the rooms the user is joined to or
   * newly left, oldest first (none on an initial sync). Read at most once per
   * request, usually from events the room stream has read already.
   */
  membershipChanges(): Promise<readonly MembershipChange[]>;
}

export interface SyncContext {
  requester: SyncRequester;
  filter: Filter;
  /** Absent on an initial sync. */
  since?: Positions;
  to: Positions;
  fullState: boolean;
  useStateAfter: boolean;
  /** Set by the room stream before the other streams run. */
  rooms: SyncRooms;
}

export interface SyncStream {
  readonly name: StreamName;
  /** The highest position a reader may rely on: nothing at or below it can still appear. */
  current(): Promise<number>;
  /**
   * Adds to `out` what changed for the requester in (since, to] of this stream,
   * or, on an initial sync (or full_state, where it applies), what is current.
   */
  sync(ctx: SyncContext, out: SyncBuilder): Promise<void>;
  /**
   * Called once per request that carries a `since` token, before anything is
   * read: the client has received everything up to `since` (e.g. to-device
   * messages it acknowledged may go).
   */
  acknowledge?(requester: SyncRequester, since: Positions): Promise<void>;
}

export interface NotificationCountsByRoom {
  /** The room's counts: all events, or only the main timeline's when per-thread counts were asked for. */
  room: { notification_count: number; highlight_count: number };
  /** Per thread root, when asked for; threads without notifications left out. */
  threads?: Record<string, { notification_count: number; highlight_count: number }>;
}

/** Unread notification counts (the push module keeps them). */
export interface UnreadCounter {
  /** The counts as of room stream position `upTo` (a sync's `to`). */
  counts(userId: string, roomIds: readonly string[], perThread: boolean, upTo: number): Promise<Map<string, NotificationCountsByRoom>>;
}

/**
 * Told about every sync request (the presence module marks the user online, or
 * as `set_presence` says). It may return a function, called when the request ends.
 */
export type SyncActivityListener = (
  requester: SyncRequester,
  setPresence: PresenceSetting | undefined,
) => SyncActivityEnd | Promise<SyncActivityEnd>;

export type SyncActivityEnd = (() => void) | undefined | void;

/**
 * The /sync response (sync.yaml) and the builder the streams fill. A room or a
 * section is only sent when it has something in it; `device_one_time_keys_count`
 * and `device_unused_fallback_key_types` are always sent but are not news: a
 * long-poll whose response holds nothing else keeps waiting.
 */
import type { ClientEvent } from '../../spec/client-event';
import { roomAllowed, type Filter } from '../../spec/filter';
import type { Positions, StreamName } from './token';

/** An event outside the room DAG: account data, presence, ephemeral, to-device, stripped state. */
export interface BasicEvent {
  type: string;
  content: Record<string, unknown>;
  sender?: string;
  state_key?: string;
}

export interface EventBatch<E = BasicEvent> {
  events: E[];
}

export interface TimelineBatch {
  events: ClientEvent[];
  limited: boolean;
  prev_batch?: string;
}

export interface NotificationCounts {
  notification_count: number;
  highlight_count: number;
}

export interface RoomSummary {
  'm.heroes'?: string[];
  'm.joined_member_count'?: number;
  'm.invited_member_count'?: number;
}

export interface JoinedRoom {
  summary?: RoomSummary;
  state?: EventBatch<ClientEvent>;
  state_after?: EventBatch<ClientEvent>;
  timeline?: TimelineBatch;
  ephemeral?: EventBatch;
  account_data?: EventBatch;
  unread_notifications?: NotificationCounts;
  unread_thread_notifications?: Record<string, NotificationCounts>;
}

export interface LeftRoom {
  state?: EventBatch<ClientEvent>;
  state_after?: EventBatch<ClientEvent>;
  timeline?: TimelineBatch;
  account_data?: EventBatch;
}

export interface SyncResponse {
  next_batch: string;
  rooms?: {
    join?: Record<string, JoinedRoom>;
    invite?: Record<string, { invite_state: EventBatch }>;
    knock?: Record<string, { knock_state: EventBatch }>;
    leave?: Record<string, LeftRoom>;
  };
  presence?: EventBatch;
  account_data?: EventBatch;
  to_device?: EventBatch;
  device_lists?: { changed?: string[]; left?: string[] };
  device_one_time_keys_count?: Record<string, number>;
  device_unused_fallback_key_types?: string[];
}

const hasEvents = (batch?: { events: unknown[] }) => batch !== undefined && batch.events.length > 0;

export class SyncBuilder {
  readonly joined = new Map<string, JoinedRoom>();
  readonly invited = new Map<string, { invite_state: EventBatch }>();
  readonly knocked = new Map<string, { knock_state: EventBatch }>();
  readonly left = new Map<string, LeftRoom>();
  readonly presence: BasicEvent[] = [];
  readonly accountData: BasicEvent[] = [];
  readonly toDevice: BasicEvent[] = [];
  readonly deviceLists = { changed: new Set<string>(), left: new Set<string>() };
  oneTimeKeyCounts: Record<string, number> = {};
  unusedFallbackKeyTypes: string[] = [];
  /** The positions `next_batch` will carry: `to`, unless a stream delivered only part of its range. */
  private readonly positions: Record<StreamName, number>;

  constructor(
    private readonly filter: Filter,
    to: Positions,
  ) {
    this.positions = { ...to };
  }

  /** The entry of a joined room; undefined for a room the filter leaves out. */
  joinedRoom(roomId: string): JoinedRoom | undefined {
    if (!roomAllowed(this.filter.room, roomId)) return undefined;
    let room = this.joined.get(roomId);
    if (!room) this.joined.set(roomId, (room = {}));
    return room;
  }

  leftRoom(roomId: string): LeftRoom | undefined {
    if (!roomAllowed(this.filter.room, roomId)) return undefined;
    let room = this.left.get(roomId);
    if (!room) this.left.set(roomId, (room = {}));
    return room;
  }

  /** Adds an ephemeral event (typing, receipts) to a joined room. */
  addEphemeral(roomId: string, event: BasicEvent): void {
    const room = this.joinedRoom(roomId);
    if (room) (room.ephemeral ??= { events: [] }).events.push(event);
  }

  /** Adds room account data to a joined or left room (`left` says which). */
  addRoomAccountData(roomId: string, event: BasicEvent, left = false): void {
    const room = left ? this.leftRoom(roomId) : this.joinedRoom(roomId);
    if (room) (room.account_data ??= { events: [] }).events.push(event);
  }

  /** Ends a stream's part of `next_batch` at `position` rather than at `to` (it has more to send next time). */
  stopStreamAt(name: StreamName, position: number): void {
    this.positions[name] = Math.min(this.positions[name], position);
  }

  nextPositions(): Positions {
    return this.positions;
  }

  /** Whether a long-poll should answer with this rather than wait for more. */
  hasNews(): boolean {
    const roomNews = (room: JoinedRoom) =>
      hasEvents(room.timeline) || hasEvents(room.state) || hasEvents(room.state_after) || hasEvents(room.ephemeral) || hasEvents(room.account_data);
    return (
      [...this.joined.values()].some(roomNews) ||
      this.invited.size > 0 ||
      this.knocked.size > 0 ||
      this.left.size > 0 ||
      this.presence.length > 0 ||
      this.accountData.length > 0 ||
      this.toDevice.length > 0 ||
      this.deviceLists.changed.size > 0 ||
      this.deviceLists.left.size > 0
    );
  }

  build(nextBatch: string): SyncResponse {
    const response: SyncResponse = { next_batch: nextBatch };
    const rooms: NonNullable<SyncResponse['rooms']> = {};
    const join = Object.fromEntries([...this.joined].filter(([, room]) => Object.keys(room).length > 0));
    if (Object.keys(join).length > 0) rooms.join = join;
    if (this.invited.size > 0) rooms.invite = Object.fromEntries(this.invited);
    if (this.knocked.size > 0) rooms.knock = Object.fromEntries(this.knocked);
    if (this.left.size > 0) rooms.leave = Object.fromEntries(this.left);
    if (Object.keys(rooms).length > 0) response.rooms = rooms;
    if (this.presence.length > 0) response.presence = { events: this.presence };
    if (this.accountData.length > 0) response.account_data = { events: this.accountData };
    if (this.toDevice.length > 0) response.to_device = { events: this.toDevice };
    if (this.deviceLists.changed.size > 0 || this.deviceLists.left.size > 0) {
      response.device_lists = { changed: [...this.deviceLists.changed], left: [...this.deviceLists.left] };
    }
    response.device_one_time_keys_count = this.oneTimeKeyCounts;
    response.device_unused_fallback_key_types = this.unusedFallbackKeyTypes;
    return response;
  }
}

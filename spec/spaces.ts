/**
 * Spaces (client-server-api/modules/spaces.md): which `m.space.child` events
 * make a room part of a space, the order of a space's children, and which
 * rooms the hierarchy APIs may show to a user or a server.
 */
import { isValidRoomId } from './identifiers';
import { isJsonObject } from './power-levels';
import type { RoomSummary } from './room-summary';
import { roomVersion } from './room-versions';

export const SPACE_ROOM_TYPE = 'm.space';
export const SPACE_CHILD_TYPE = 'm.space.child';

/** An m.space.child event as the hierarchy APIs return it: stripped state plus `origin_server_ts`. */
export interface SpaceChildEvent {
  type: typeof SPACE_CHILD_TYPE;
  state_key: string;
  content: Record<string, unknown>;
  sender: string;
  origin_server_ts: number;
}

/** A child of a space, from a valid m.space.child event. */
export interface SpaceChild {
  roomId: string;
  via: string[];
  /** A valid `order`, if the event has one. */
  order?: string;
  suggested: boolean;
  originServerTs: number;
}

export function isSpaceChildEvent(value: unknown): value is SpaceChildEvent {
  return (
    isJsonObject(value) &&
    value.type === SPACE_CHILD_TYPE &&
    typeof value.state_key === 'string' &&
    isJsonObject(value.content) &&
    typeof value.sender === 'string' &&
    typeof value.origin_server_ts === 'number' &&
    Number.isSafeInteger(value.origin_server_ts)
  );
}

/** `order`: 1 to 50 characters, each from \x20 to \x7E; anything else counts as no order at all. */
export function isValidOrder(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 50 && /^[\x20-\x7E]+$/.test(value);
}

/**
 * The child an m.space.child event names, or undefined when the event does not
 * make it part of the space: its state key is not a room ID, or its `via` is
 * missing, not a list, or names no server.
 */
export function spaceChildOf(event: SpaceChildEvent): SpaceChild | undefined {
  const { via, order, suggested } = event.content;
  if (!isValidRoomId(event.state_key) || !Array.isArray(via)) return undefined;
  const servers = via.filter((server): server is string => typeof server === 'string' && server !== '');
  if (servers.length === 0) return undefined;
  return {
    roomId: event.state_key,
    via: servers,
    ...(isValidOrder(order) ? { order } : {}),
    suggested: suggested === true,
    originServerTs: event.origin_server_ts,
  };
}

/** The space's children in the spec's order ("Ordering of children within a space"); invalid events are left out. */
export function orderedChildren(events: readonly SpaceChildEvent[]): SpaceChild[] {
  return events
    .map(spaceChildOf)
    .filter((child): child is SpaceChild => child !== undefined)
    .sort(compareChildren);
}

/**
 * Children with an `order` first, by `order`; then the others. Ties go to the
 * earlier `origin_server_ts`, then to the lower room ID. Every comparison is
 * by Unicode code points (`order` is ASCII, where UTF-16 order is the same).
 */
export function compareChildren(a: SpaceChild, b: SpaceChild): number {
  if (a.order !== undefined || b.order !== undefined) {
    if (a.order === undefined) return 1;
    if (b.order === undefined) return -1;
    if (a.order !== b.order) return a.order < b.order ? -1 : 1;
  }
  return a.originServerTs - b.originServerTs || compareCodePoints(a.roomId, b.roomId);
}

function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i].codePointAt(0)! - right[i].codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/** Who asks for a room in the hierarchy: a user, or (over federation) a server standing for its users. */
export interface HierarchyViewer {
  /** The user's membership of the room; for a server, `join` if any of its users is joined, else `invite` if any is invited. */
  membership?: string;
  /** Whether the user (for a server, any of its users) is joined to one of the room's `allowed_room_ids`. */
  joinedToAllowedRoom: boolean;
}

/**
 * Whether the hierarchy shows the room to the viewer (space_hierarchy.yaml,
 * `rooms`): the viewer is joined or invited; the join rule is `public`;
 * `restricted` (or `knock_restricted`) and the viewer meets an allow
 * condition; `knock` or `knock_restricted`; or the room is world-readable.
 * A banned viewer is shown nothing. A join rule needs a room version that has
 * it; a room whose version is unknown is taken at its word. `absentJoinRule`
 * is the rule of a summary without `join_rule`: `public` for summaries from
 * other servers (public_rooms_chunk.yaml), and for our own rooms what a room
 * without m.room.join_rules is, `invite`.
 */
export function mayPeekOrJoin(room: RoomSummary, viewer: HierarchyViewer, absentJoinRule: 'public' | 'invite'): boolean {
  if (viewer.membership === 'ban') return false;
  if (viewer.membership === 'join' || viewer.membership === 'invite' || room.world_readable) return true;
  const version = room.room_version === undefined ? undefined : roomVersion(room.room_version);
  const joinRule = room.join_rule ?? absentJoinRule;
  switch (joinRule) {
    case 'public':
      return true;
    case 'knock':
      return version?.knocking ?? true;
    case 'knock_restricted':
      return version?.knockRestricted ?? true;
    case 'restricted':
      return (version?.restrictedJoins ?? true) && viewer.joinedToAllowedRoom;
    default:
      return false;
  }
}

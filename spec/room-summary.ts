/**
 * What other users and servers are shown of a room they may not be in:
 * the published room directory's chunk (definitions/public_rooms_chunk.yaml)
 * and the room summary the space hierarchy extends it to
 * (definitions/room_summary.yaml, space_hierarchy.yaml), with a check of
 * summaries received from other servers.
 */
import { isValidRoomId } from './identifiers';
import { isJsonObject } from './power-levels';
import { isSpaceChildEvent, type SpaceChildEvent } from './spaces';

/** One room as /publicRooms lists it. Keys left undefined are absent from the JSON. */
export interface PublicRoomsChunk {
  room_id: string;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  join_rule?: string;
  room_type?: string;
}

/** A PublicRoomsChunk with the room's allow conditions, encryption and version. */
export interface RoomSummary extends PublicRoomsChunk {
  /** The rooms named by the allow conditions of a restricted (or knock_restricted) join rule; absent otherwise. */
  allowed_room_ids?: string[];
  encryption?: string;
  room_version?: string;
}

/** A room as the hierarchy APIs return it: its summary and its `m.space.child` events (empty unless it is a space). */
export interface HierarchyRoom extends RoomSummary {
  children_state: SpaceChildEvent[];
}

/** The keys of a RoomSummary that are optional strings. */
const OPTIONAL_STRINGS = ['name', 'topic', 'canonical_alias', 'avatar_url', 'join_rule', 'room_type', 'encryption', 'room_version'] as const;

/**
 * A summary another server sent, keeping only what has the right type: the
 * required keys must be there and valid (else undefined), optional keys of the
 * wrong type are dropped, and so are `children_state` entries that are not
 * m.space.child events. `childrenState` says whether the answer had a
 * `children_state` list at all (a child's summary may leave it out).
 */
export function hierarchyRoomFromJson(value: unknown): { room: HierarchyRoom; childrenState: boolean } | undefined {
  if (!isJsonObject(value)) return undefined;
  const { room_id: roomId, num_joined_members: joined, world_readable: worldReadable, guest_can_join: guestCanJoin } = value;
  if (typeof roomId !== 'string' || !isValidRoomId(roomId)) return undefined;
  if (typeof joined !== 'number' || !Number.isSafeInteger(joined) || joined < 0) return undefined;
  if (typeof worldReadable !== 'boolean' || typeof guestCanJoin !== 'boolean') return undefined;
  const room: HierarchyRoom = { room_id: roomId, num_joined_members: joined, world_readable: worldReadable, guest_can_join: guestCanJoin, children_state: [] };
  for (const key of OPTIONAL_STRINGS) {
    const field = value[key];
    if (typeof field === 'string') room[key] = field;
  }
  if (Array.isArray(value.allowed_room_ids)) {
    room.allowed_room_ids = value.allowed_room_ids.filter((id): id is string => typeof id === 'string' && isValidRoomId(id));
  }
  const childrenState = Array.isArray(value.children_state);
  if (childrenState) room.children_state = (value.children_state as unknown[]).filter(isSpaceChildEvent);
  return { room, childrenState };
}

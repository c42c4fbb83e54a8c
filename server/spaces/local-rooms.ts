/**
 * The space hierarchy's view of rooms this server is in: each room's summary
 * and its m.space.child events, from the current state. A room none of our
 * users is joined to (known only from an invite, or left by everyone) has no
 * current state worth showing here: other servers are asked about it.
 */
import type { HierarchyRoom } from '../../spec/room-summary';
import { compareChildren, SPACE_CHILD_TYPE, SPACE_ROOM_TYPE, spaceChildOf, type SpaceChild, type SpaceChildEvent } from '../../spec/spaces';
import type { Stores } from '../../storage';
import type { RoomSummaryState } from '../../storage/room-summaries';
import { roomSummaryOf, SUMMARY_STATE, visibleContent } from '../rooms/room-summary';
import type { Rooms } from '../rooms/rooms';

export class LocalSpaceRooms {
  constructor(
    private readonly stores: Stores,
    /** Whether one of our users is joined to the room, so that our copy of its state is current (Rooms.isResident). */
    private readonly residency: Pick<Rooms, 'isResident'>,
  ) {}

  /** The hierarchy entries of those of the rooms this server is in. */
  async rooms(roomIds: readonly string[]): Promise<Map<string, HierarchyRoom>> {
    const resident: string[] = [];
    for (const roomId of new Set(roomIds)) if (await this.residency.isResident(roomId)) resident.push(roomId);
    const states = await this.stores.roomSummaries.read(resident, { ...SUMMARY_STATE, keyedType: SPACE_CHILD_TYPE });
    const rooms = new Map<string, HierarchyRoom>();
    for (const [roomId, state] of states) {
      const summary = roomSummaryOf(state);
      rooms.set(roomId, { ...summary, children_state: summary.room_type === SPACE_ROOM_TYPE ? childEvents(state) : [] });
    }
    return rooms;
  }

  /** The room's hierarchy entry; undefined unless this server is in the room. */
  async room(roomId: string): Promise<HierarchyRoom | undefined> {
    return (await this.rooms([roomId])).get(roomId);
  }
}

/** The m.space.child events that make a room part of the space (redacted ones have no `via`), in the children's order. */
function childEvents(state: RoomSummaryState): SpaceChildEvent[] {
  const children: { event: SpaceChildEvent; child: SpaceChild }[] = [];
  for (const stored of state.keyed) {
    const { pdu } = stored;
    const event: SpaceChildEvent = {
      type: SPACE_CHILD_TYPE,
      state_key: pdu.state_key ?? '',
      content: visibleContent(stored, state.version),
      sender: pdu.sender,
      origin_server_ts: pdu.origin_server_ts,
    };
    const child = spaceChildOf(event);
    if (child) children.push({ event, child });
  }
  return children.sort((a, b) => compareChildren(a.child, b.child)).map(({ event }) => event);
}

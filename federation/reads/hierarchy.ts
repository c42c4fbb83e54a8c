/**
 * GET /_matrix/federation/v1/hierarchy/{roomId} (space_hierarchy.yaml): a room
 * of ours and those of its children we are in, as far as the requesting server
 * could peek or join them. Unlike the client API there is no paging: every
 * such child is listed, and the requesting server filters for its user.
 *
 * A server may peek or join a room (spec/spaces.ts, mayPeekOrJoin, for the
 * server's users together) when the room's ACL lets it in and: one of its
 * users is joined or invited; the join rule is public, knock or
 * knock_restricted; the room is world-readable; or the join rule is
 * restricted and one of its users is joined to an allowed room we are in.
 */
import { forbidden, notFound } from '../../spec/errors';
import type { HierarchyRoom } from '../../spec/room-summary';
import { mayPeekOrJoin, orderedChildren, SPACE_ROOM_TYPE } from '../../spec/spaces';
import type { LocalSpaceRooms } from '../../server/spaces/local-rooms';
import type { Stores } from '../../storage';
import { aclAllows } from './server-access';

export interface HierarchyAnswer {
  room: HierarchyRoom;
  children: HierarchyRoom[];
  inaccessible_children: string[];
}

export class HierarchyReads {
  constructor(
    private readonly stores: Stores,
    private readonly local: LocalSpaceRooms,
  ) {}

  /**
   * 404 M_NOT_FOUND when we are not in the room or the server may not peek or
   * join it; 403 M_FORBIDDEN when the room's ACL denies the server. Children
   * we are not in are left out; those the server may not peek or join (or
   * whose ACL denies it) are in `inaccessible_children`.
   */
  async answer(origin: string, roomId: string, suggestedOnly: boolean): Promise<HierarchyAnswer> {
    const room = await this.local.room(roomId);
    if (!room) throw notFound('Unknown room');
    if (!(await aclAllows(this.stores, roomId, origin))) throw forbidden(`Server ${origin} is denied by the room's server ACL`);
    if (!(await this.mayPeekOrJoin(origin, room))) throw notFound(`Server ${origin} may not peek or join this room`);

    const wanted = room.room_type === SPACE_ROOM_TYPE ? orderedChildren(room.children_state).filter((child) => !suggestedOnly || child.suggested) : [];
    const ours = await this.local.rooms(wanted.map((child) => child.roomId));
    const children: HierarchyRoom[] = [];
    const inaccessible: string[] = [];
    for (const { roomId: childId } of wanted) {
      const child = ours.get(childId);
      if (!child) continue;
      if ((await aclAllows(this.stores, childId, origin)) && (await this.mayPeekOrJoin(origin, child))) children.push(child);
      else inaccessible.push(childId);
    }
    return { room, children, inaccessible_children: inaccessible };
  }

  private async mayPeekOrJoin(origin: string, room: HierarchyRoom): Promise<boolean> {
    const { memberships } = this.stores;
    const membership = (await memberships.anyOnServer(room.room_id, origin, ['join']))
      ? 'join'
      : (await memberships.anyOnServer(room.room_id, origin, ['invite'])) ? 'invite' : undefined;
    let joinedToAllowedRoom = false;
    for (const allowed of room.allowed_room_ids ?? []) {
      if ((await this.stores.rooms.get(allowed)) && (await memberships.anyJoinedOnServer(allowed, origin))) {
        joinedToAllowedRoom = true;
        break;
      }
    }
    return mayPeekOrJoin(room, { membership, joinedToAllowedRoom }, 'invite');
  }
}

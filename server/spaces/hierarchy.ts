/**
 * GET /_matrix/client/v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml,
 * spaces module "Discovering rooms within spaces"): a depth-first walk of the
 * space tree from a room, one page at a time, showing each room the user may
 * peek or join.
 *
 * Rooms this server is in are summarised from their current state
 * (LocalSpaceRooms). Other rooms are asked of the servers in their parent's
 * m.space.child `via` (a RemoteHierarchy, which federation connects); the
 * summaries of the children in such an answer stand for those children, so
 * their own servers need not be asked unless they are spaces whose children
 * the answer left out. Local data always wins over another server's.
 */
import { forbidden } from '../../spec/errors';
import type { HierarchyRoom } from '../../spec/room-summary';
import { mayPeekOrJoin, orderedChildren, SPACE_ROOM_TYPE } from '../../spec/spaces';
import type { Stores } from '../../storage';
import type { Requester } from '../http/route';
import type { Rooms } from '../rooms/rooms';
import { LocalSpaceRooms } from './local-rooms';
import type { RemoteChild, RemoteHierarchy } from './remote-hierarchy';
import { WalkPages, type Walk, type WalkEntry, type WalkKey } from './walk-pages';

/** The bounds of a page (docs/spaces.md). */
export const HIERARCHY_LIMITS = {
  /** Rooms per page when the request gives no `limit`, and the most a page holds. */
  defaultLimit: 50,
  maxLimit: 100,
  /** `max_depth` when the request gives none, and the deepest a walk goes whatever it asks. */
  defaultMaxDepth: 10,
  maxDepth: 25,
  /** Rooms taken off the walk per page at most, shown or not. */
  roomsExaminedPerPage: 500,
  /** Rooms asked of other servers per page at most (answers from federation's cache count too). */
  remoteRoomsPerPage: 20,
} as const;

export interface HierarchyRequest {
  suggestedOnly: boolean;
  /** At least 1; more than maxLimit counts as maxLimit. */
  limit: number;
  /** At least 0; more than maxDepth counts as maxDepth. */
  maxDepth: number;
  from?: string;
}

export interface HierarchyPage {
  rooms: HierarchyRoom[];
  next_batch?: string;
}

/** The requesting user, with the rooms they are joined to (for restricted rooms' allow conditions). */
interface Viewer {
  userId: string;
  joinedRooms: ReadonlySet<string>;
}

/** A room found: its entry, and what an answer from another server said of its children. */
interface Found {
  room: HierarchyRoom;
  hints: Map<string, RemoteChild | 'inaccessible'>;
}

/** A page's allowance of remote rooms; `exhausted` once a room could not be asked about. */
interface Budget {
  remoteRooms: number;
  exhausted: boolean;
}

export class SpaceHierarchy {
  readonly local: LocalSpaceRooms;
  private readonly pages: WalkPages;
  private remote: RemoteHierarchy | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly rooms: Pick<Rooms, 'isResident' | 'serversToReach'>,
    pages: WalkPages = new WalkPages(),
  ) {
    this.local = new LocalSpaceRooms(stores, rooms);
    this.pages = pages;
  }

  /** Federation connects its requests here; until then rooms we are not in are left out. */
  setRemote(remote: RemoteHierarchy): void {
    this.remote = remote;
  }

  /**
   * One page of the walk: the room first (on the first page), then depth
   * first, each space's children in the spec's order before its next sibling.
   * 403 when the user may not peek or join the room or it is unknown; 400
   * for a `from` token that is unknown or was made with other parameters.
   */
  async page(requester: Requester, roomId: string, request: HierarchyRequest): Promise<HierarchyPage> {
    const key: WalkKey = { userId: requester.userId, roomId, suggestedOnly: request.suggestedOnly, maxDepth: request.maxDepth };
    const resumed = request.from === undefined ? undefined : this.pages.resume(request.from, key);
    const limit = Math.min(request.limit, HIERARCHY_LIMITS.maxLimit);
    const maxDepth = Math.min(request.maxDepth, HIERARCHY_LIMITS.maxDepth);
    const viewer: Viewer = { userId: requester.userId, joinedRooms: new Set(await this.stores.memberships.roomsOf(requester.userId, ['join'])) };
    const budget: Budget = { remoteRooms: HIERARCHY_LIMITS.remoteRoomsPerPage, exhausted: false };

    const rootEntry: WalkEntry = { roomId, depth: 0, via: await this.rooms.serversToReach(roomId, requester.userId) };
    const root = await this.find(viewer, rootEntry, request.suggestedOnly, maxDepth, budget);
    if (!root) throw forbidden('You may not view this room, or it does not exist');

    const rooms: HierarchyRoom[] = [];
    const walk: Walk = resumed ?? { stack: [], seen: new Set([roomId]) };
    if (!resumed) {
      rooms.push(root.room);
      pushChildren(walk, rootEntry, root, request.suggestedOnly, maxDepth);
    }
    let examined = 0;
    while (walk.stack.length > 0 && rooms.length < limit && examined < HIERARCHY_LIMITS.roomsExaminedPerPage) {
      const entry = walk.stack.pop()!;
      if (walk.seen.has(entry.roomId)) continue;
      const found = await this.find(viewer, entry, request.suggestedOnly, maxDepth, budget);
      if (budget.exhausted) {
        // The next page asks about it.
        walk.stack.push(entry);
        break;
      }
      walk.seen.add(entry.roomId);
      examined++;
      if (!found) continue;
      rooms.push(found.room);
      pushChildren(walk, entry, found, request.suggestedOnly, maxDepth);
    }
    while (walk.stack.length > 0 && walk.seen.has(walk.stack.at(-1)!.roomId)) walk.stack.pop();
    return walk.stack.length === 0 ? { rooms } : { rooms, next_batch: this.pages.save(key, walk) };
  }

  /** The room's entry if the viewer may see it: from our own state when we are in the room, else from another server. */
  private async find(viewer: Viewer, entry: WalkEntry, suggestedOnly: boolean, maxDepth: number, budget: Budget): Promise<Found | undefined> {
    const room = await this.local.room(entry.roomId);
    if (room) return (await this.mayView(viewer, room, 'invite')) ? { room, hints: new Map() } : undefined;
    const found = await this.fromRemote(entry, suggestedOnly, maxDepth, budget);
    return found && (await this.mayView(viewer, found.room, 'public')) ? found : undefined;
  }

  /**
   * A room we are not in: what its parent's answer said of it, when that is
   * enough (not a space whose children we need and were not given), else the
   * answer of a server in `via`.
   */
  private async fromRemote(entry: WalkEntry, suggestedOnly: boolean, maxDepth: number, budget: Budget): Promise<Found | undefined> {
    const { hint } = entry;
    if (hint === 'inaccessible') return undefined;
    const needsChildren = (room: HierarchyRoom) => room.room_type === SPACE_ROOM_TYPE && entry.depth < maxDepth;
    if (hint && (hint.childrenState || !needsChildren(hint.room))) return { room: remoteRoom(hint.room), hints: new Map() };
    if (!this.remote || entry.via.length === 0) return hint && { room: remoteRoom(hint.room), hints: new Map() };
    if (budget.remoteRooms === 0) {
      budget.exhausted = true;
      return undefined;
    }
    budget.remoteRooms--;
    const answer = await this.remote.fetch(entry.roomId, entry.via, suggestedOnly);
    if (!answer) return hint && { room: remoteRoom(hint.room), hints: new Map() };
    const hints = new Map<string, RemoteChild | 'inaccessible'>(answer.inaccessibleChildren.map((id) => [id, 'inaccessible']));
    for (const child of answer.children) hints.set(child.room.room_id, child);
    return { room: remoteRoom(answer.room), hints };
  }

  /**
   * Whether the viewer may peek or join the room (spec/spaces.ts). Their
   * membership is what this server knows: the current state of a room we are
   * in, or an invite or knock of theirs to one we are not in.
   */
  private async mayView(viewer: Viewer, room: HierarchyRoom, absentJoinRule: 'public' | 'invite'): Promise<boolean> {
    const known = (await this.stores.rooms.get(room.room_id)) !== undefined;
    const membership = known ? await this.stores.memberships.of(room.room_id, viewer.userId) : undefined;
    const joinedToAllowedRoom = (room.allowed_room_ids ?? []).some((id) => viewer.joinedRooms.has(id));
    return mayPeekOrJoin(room, { membership, joinedToAllowedRoom }, absentJoinRule);
  }
}

/** Children are walked only in spaces: another server's children_state of any other room is dropped. */
function remoteRoom(room: HierarchyRoom): HierarchyRoom {
  return room.room_type === SPACE_ROOM_TYPE ? room : { ...room, children_state: [] };
}

/** Puts a space's children on the walk, the first on top, unless the walk is as deep as it may go. */
function pushChildren(walk: Walk, entry: WalkEntry, found: Found, suggestedOnly: boolean, maxDepth: number): void {
  if (found.room.room_type !== SPACE_ROOM_TYPE || entry.depth >= maxDepth) return;
  const children = orderedChildren(found.room.children_state).filter((child) => (!suggestedOnly || child.suggested) && !walk.seen.has(child.roomId));
  for (const child of children.reverse()) {
    walk.stack.push({ roomId: child.roomId, depth: entry.depth + 1, via: child.via, hint: found.hints.get(child.roomId) });
  }
}

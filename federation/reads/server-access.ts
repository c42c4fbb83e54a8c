/**
 * What another server may read of a room: the room's server ACL first (403
 * M_FORBIDDEN for a denied server), then whether it takes part in the room
 * (one of its users is joined now, or the room is world-readable now), and for
 * each event whether the server may see it (spec/server-visibility.ts: the
 * history visibility rules applied to the server's users together).
 */
import { forbidden, MatrixError, notFound } from '../../spec/errors';
import { historyVisibilityOf, type ViewPoint } from '../../spec/history-visibility';
import { splitStateTuple, stateTuple } from '../../spec/pdu';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import { serverAclAllows } from '../../spec/server-acl';
import { isEventVisibleToServer, serverMembership, serverOfUser } from '../../spec/server-visibility';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';

const HISTORY_VISIBILITY = stateTuple('m.room.history_visibility', '');

/** Whether the room's current m.room.server_acl lets `origin` in (every inbound request, PDU and room EDU asks). */
export async function aclAllows(stores: Stores, roomId: string, origin: string): Promise<boolean> {
  const acl = await stores.roomState.currentStateEvent(roomId, 'm.room.server_acl', '');
  return serverAclAllows(acl?.pdu.content, origin);
}

export class ServerAccess {
  constructor(private readonly stores: Stores) {}

  /** The room's version; 404 M_NOT_FOUND for a room this server does not know. */
  async roomVersion(roomId: string): Promise<RoomVersion> {
    const room = await this.stores.rooms.get(roomId);
    if (!room) throw notFound('Unknown room');
    const version = roomVersion(room.version);
    if (!version) throw new MatrixError(500, 'M_UNKNOWN', `Room has unsupported version ${room.version}`);
    return version;
  }

  /** 403 M_FORBIDDEN if the room's current m.room.server_acl denies `origin`. */
  async checkAcl(origin: string, roomId: string): Promise<void> {
    if (!(await aclAllows(this.stores, roomId, origin))) throw forbidden(`Server ${origin} is denied by the room's server ACL`);
  }

  /** Whether one of `origin`'s users is joined to the room now. */
  async joinedNow(origin: string, roomId: string): Promise<boolean> {
    return (await this.stores.memberships.joinedOnServer(roomId, origin)).length > 0;
  }

  /**
   * The room's version, if `origin` may read the room as a whole (backfill,
   * missing events, timestamps): 404 for an unknown room; 403 when the ACL
   * denies it, or when none of its users is joined and the room is not world-readable.
   */
  async requireParticipant(origin: string, roomId: string): Promise<RoomVersion> {
    const version = await this.roomVersion(roomId);
    await this.checkAcl(origin, roomId);
    if (!(await this.mayReadNow(origin, roomId))) throw forbidden(`Server ${origin} is not in room ${roomId}`);
    return version;
  }

  /** Whether `origin` has a joined user in the room, or the room is world-readable, now. */
  async mayReadNow(origin: string, roomId: string): Promise<boolean> {
    if (await this.joinedNow(origin, roomId)) return true;
    const visibility = await this.stores.roomState.currentStateEvent(roomId, 'm.room.history_visibility', '');
    return historyVisibilityOf(visibility?.pdu.content) === 'world_readable';
  }

  /**
   * The IDs of those of `events` (all in `roomId`) that `origin` may see. An
   * event without a known state before it (an outlier) is judged unseen.
   */
  async visibleTo(origin: string, roomId: string, events: readonly StoredEvent[]): Promise<Set<string>> {
    const placed = events.filter((stored) => stored.stateGroupBefore !== null);
    if (placed.length === 0) return new Set();
    const judgedOnBoth = (stored: StoredEvent) => {
      const { type, state_key: stateKey } = stored.event.pdu;
      return type === 'm.room.history_visibility' || (type === 'm.room.member' && stateKey !== undefined && serverOfUser(stateKey) === origin);
    };
    const groups = new Set<number>();
    for (const stored of placed) {
      groups.add(stored.stateGroupBefore!);
      if (judgedOnBoth(stored) && stored.stateGroupAfter !== null) groups.add(stored.stateGroupAfter);
    }
    const views = await this.viewPoints(origin, [...groups]);
    const joinedAfterwards = await this.joinedNow(origin, roomId);
    const visible = new Set<string>();
    for (const stored of placed) {
      const before = views.get(stored.stateGroupBefore!)!;
      const after = judgedOnBoth(stored) && stored.stateGroupAfter !== null ? views.get(stored.stateGroupAfter)! : before;
      const { type, state_key: stateKey } = stored.event.pdu;
      if (isEventVisibleToServer({ type, stateKey, server: origin, before, after, joinedAfterwards })) visible.add(stored.event.id);
    }
    return visible;
  }

  /** The room as `origin`'s users together saw it in each state group. */
  private async viewPoints(origin: string, groups: readonly number[]): Promise<Map<number, ViewPoint>> {
    const entries = new Map<number, { visibility?: string; members: string[] }>();
    for (const group of groups) {
      const state = await this.stores.stateGroups.read(group);
      const members: string[] = [];
      for (const [tuple, id] of state) {
        const { type, stateKey } = splitStateTuple(tuple);
        if (type === 'm.room.member' && serverOfUser(stateKey) === origin) members.push(id);
      }
      entries.set(group, { visibility: state.get(HISTORY_VISIBILITY), members });
    }
    const ids = new Set([...entries.values()].flatMap((e) => (e.visibility === undefined ? e.members : [e.visibility, ...e.members])));
    const loaded = await this.stores.events.get([...ids]);
    const content = (id: string) => loaded.get(id)?.event.pdu.content;
    const views = new Map<number, ViewPoint>();
    for (const [group, { visibility, members }] of entries) {
      const memberships = members.map((id) => content(id)?.membership).filter((m): m is string => typeof m === 'string');
      views.set(group, {
        visibility: historyVisibilityOf(visibility === undefined ? undefined : content(visibility)),
        membership: serverMembership(memberships),
      });
    }
    return views;
  }
}

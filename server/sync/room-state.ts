/**
 * The state part of a room in /sync: the whole state at a point (initial
 * syncs, newly joined rooms, full_state) or what changed between two points
 * (incremental syncs), read from state groups. With lazy-loading, member
 * events are limited to the users the caller names, except that changes are
 * always sent whole: a join or leave in a gap must not be lost.
 */
import { eventAllowed, type RoomEventFilter } from '../../spec/filter';
import { splitStateTuple, stateTuple, type StateMap } from '../../spec/pdu';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';

/** Which member events to send; all of them unless lazy-loading. */
export interface MemberSelection {
  lazy: boolean;
  /** With lazy-loading: the users whose member events are wanted. */
  wanted: ReadonlySet<string>;
}

const isMember = (tuple: string) => splitStateTuple(tuple).type === 'm.room.member';

export class SyncRoomState {
  constructor(private readonly stores: Stores) {}

  /** The room's state in `group` (nothing for undefined: before the room's first event). */
  async whole(group: number | undefined, members: MemberSelection, filter: RoomEventFilter): Promise<StoredEvent[]> {
    if (group === undefined) return [];
    const state = await this.stores.stateGroups.read(group);
    return this.load(pick(state, members), filter);
  }

  /**
   * What changes the state in `from` into the state in `to`, plus the wanted
   * member events of `to` (lazy-loading). Entries removed from the state cannot
   * be expressed in /sync and are left out.
   */
  async changes(from: number | undefined, to: number | undefined, members: MemberSelection, filter: RoomEventFilter): Promise<StoredEvent[]> {
    if (to === undefined) return [];
    if (from === undefined) return this.whole(to, { lazy: false, wanted: new Set() }, filter);
    const ids = new Set<string>();
    if (from !== to) {
      for (const ref of (await this.stores.stateGroups.diff(from, to)).values()) if (ref) ids.add(ref.id);
    }
    if (members.lazy && members.wanted.size > 0) {
      for (const id of wantedMembers(await this.stores.stateGroups.read(to), members.wanted)) ids.add(id);
    }
    return this.load([...ids], filter);
  }

  private async load(ids: string[], filter: RoomEventFilter): Promise<StoredEvent[]> {
    const loaded = await this.stores.events.get(ids);
    return ids.flatMap((id) => loaded.get(id) ?? []).filter((stored) => {
      const { type, sender } = stored.event.pdu;
      return eventAllowed(filter, { type, sender, room_id: stored.roomId });
    });
  }
}

/** The IDs of the entries of `state` to send: all, or with lazy-loading all but the unwanted member events. */
function pick(state: StateMap, members: MemberSelection): string[] {
  if (!members.lazy) return [...state.values()];
  return [...state].filter(([tuple]) => !isMember(tuple) || members.wanted.has(splitStateTuple(tuple).stateKey)).map(([, id]) => id);
}

/** The member events of `wanted` users in `state`. */
function wantedMembers(state: StateMap, wanted: ReadonlySet<string>): string[] {
  return [...wanted].flatMap((userId) => state.get(stateTuple('m.room.member', userId)) ?? []);
}

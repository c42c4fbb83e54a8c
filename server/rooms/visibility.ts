/**
 * Which events a user may see (history_visibility module), decided from the
 * room state at each event and whether the user joined afterwards. Decided for
 * a batch at once: each state group the batch names is read once, the events
 * those groups point at are loaded in one query, and the user's membership is
 * read once per room.
 */
import { historyVisibilityOf, isEventVisible, type ViewPoint } from '../../spec/history-visibility';
import { stateTuple, type StateMap } from '../../spec/pdu';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';

const HISTORY_VISIBILITY = stateTuple('m.room.history_visibility', '');

export class Visibility {
  constructor(private readonly stores: Stores) {}

  /** Whether the room's current history visibility is world_readable, so anyone may read it now. */
  async worldReadableNow(roomId: string): Promise<boolean> {
    const event = await this.stores.roomState.currentStateEvent(roomId, 'm.room.history_visibility', '');
    return historyVisibilityOf(event?.pdu.content) === 'world_readable';
  }

  /** The events `userId` may see, in the order given. */
  async filter(userId: string, events: readonly StoredEvent[]): Promise<StoredEvent[]> {
    const placed = events.filter((stored) => stored.stateGroupBefore !== null);
    if (placed.length === 0) return [];
    const judgedOnBoth = (stored: StoredEvent) => {
      const { type, state_key: stateKey } = stored.event.pdu;
      return type === 'm.room.history_visibility' || (type === 'm.room.member' && stateKey === userId);
    };
    const groups = new Set<number>();
    for (const stored of placed) {
      groups.add(stored.stateGroupBefore!);
      if (judgedOnBoth(stored) && stored.stateGroupAfter !== null) groups.add(stored.stateGroupAfter);
    }
    const views = await this.viewPoints([...groups], userId);
    const joinedAfterwards = await this.joinedAfterwards(userId, placed);
    return placed.filter((stored) => {
      const before = views.get(stored.stateGroupBefore!)!;
      const after = judgedOnBoth(stored) && stored.stateGroupAfter !== null ? views.get(stored.stateGroupAfter)! : before;
      const { type, state_key: stateKey } = stored.event.pdu;
      return isEventVisible({ type, stateKey, userId, before, after, joinedAfterwards: joinedAfterwards(stored) });
    });
  }

  async canSee(userId: string, stored: StoredEvent): Promise<boolean> {
    return (await this.filter(userId, [stored])).length === 1;
  }

  /** Whether the user's membership was `join` at some point after each event (now included). */
  private async joinedAfterwards(userId: string, events: readonly StoredEvent[]): Promise<(stored: StoredEvent) => boolean> {
    const rooms = new Map<string, { joinedNow: boolean; lastJoin?: number }>();
    for (const roomId of new Set(events.map((stored) => stored.roomId))) {
      const joinedNow = (await this.stores.memberships.of(roomId, userId)) === 'join';
      rooms.set(roomId, { joinedNow, lastJoin: joinedNow ? undefined : await this.stores.timeline.lastJoin(roomId, userId) });
    }
    return (stored) => {
      const { joinedNow, lastJoin } = rooms.get(stored.roomId)!;
      return joinedNow || (lastJoin !== undefined && stored.streamOrdering !== null && lastJoin > stored.streamOrdering);
    };
  }

  /** The room as the user saw it in each state group. */
  private async viewPoints(groups: readonly number[], userId: string): Promise<Map<number, ViewPoint>> {
    const memberTuple = stateTuple('m.room.member', userId);
    const states = new Map<number, StateMap>();
    for (const group of groups) states.set(group, await this.stores.stateGroups.read(group));
    const ids = new Set<string>();
    for (const state of states.values()) {
      for (const tuple of [HISTORY_VISIBILITY, memberTuple]) {
        const id = state.get(tuple);
        if (id !== undefined) ids.add(id);
      }
    }
    const events = await this.stores.events.get([...ids]);
    const contentAt = (state: StateMap, tuple: string) => events.get(state.get(tuple) ?? '')?.event.pdu.content;
    const views = new Map<number, ViewPoint>();
    for (const [group, state] of states) {
      const membership = contentAt(state, memberTuple)?.membership;
      views.set(group, {
        visibility: historyVisibilityOf(contentAt(state, HISTORY_VISIBILITY)),
        membership: typeof membership === 'string' ? membership : undefined,
      });
    }
    return views;
  }
}

/**
 * Which events a user may see (history_visibility module), decided from the
 * room state at each event and whether the user joined afterwards.
 */
import { historyVisibilityOf, isEventVisible, type ViewPoint } from '../../spec/history-visibility';
import { stateTuple, type StateMap } from '../../spec/pdu';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';

const HISTORY_VISIBILITY = stateTuple('m.room.history_visibility', '');

export class Visibility {
  constructor(private readonly stores: Stores) {}

  /** The events `userId` may see, in the order given. */
  async filter(userId: string, events: readonly StoredEvent[]): Promise<StoredEvent[]> {
    const visible: StoredEvent[] = [];
    for (const stored of events) if (await this.canSee(userId, stored)) visible.push(stored);
    return visible;
  }

  async canSee(userId: string, stored: StoredEvent): Promise<boolean> {
    const { pdu } = stored.event;
    const before = await this.stores.roomState.stateBefore(stored.event.id);
    if (!before) return false;
    const after = pdu.state_key === undefined ? before : (await this.stores.roomState.stateAfter(stored.event.id)) ?? before;
    const joinedAfterwards =
      (await this.stores.memberships.of(stored.roomId, userId)) === 'join' ||
      (stored.streamOrdering !== null && (await this.stores.memberships.joinedAfter(stored.roomId, userId, stored.streamOrdering)));
    return isEventVisible({
      type: pdu.type,
      stateKey: pdu.state_key,
      userId,
      before: await this.viewPoint(before, userId),
      after: after === before ? await this.viewPoint(before, userId) : await this.viewPoint(after, userId),
      joinedAfterwards,
    });
  }

  private async viewPoint(state: StateMap, userId: string): Promise<ViewPoint> {
    const ids = [state.get(HISTORY_VISIBILITY), state.get(stateTuple('m.room.member', userId))].filter((id): id is string => id !== undefined);
    const events = await this.stores.events.get(ids);
    const visibilityEvent = events.get(state.get(HISTORY_VISIBILITY) ?? '');
    const memberEvent = events.get(state.get(stateTuple('m.room.member', userId)) ?? '');
    const membership = memberEvent?.event.pdu.content.membership;
    return {
      visibility: historyVisibilityOf(visibilityEvent?.event.pdu.content),
      membership: typeof membership === 'string' ? membership : undefined,
    };
  }
}

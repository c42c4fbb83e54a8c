/**
 * Which events a user may see (history_visibility module), decided from the
 * room state at each event and whether the user joined afterwards. Decided for
 * a batch at once: each state group the batch names is looked up once (two
 * entries, not the whole state), the events those entries name are loaded in
 * one query (and remembered: the parts read here survive redaction), and the
 * user's membership is read once per room unless the caller knows it.
 */
import { allowedAt, historyVisibilityOf, isEventVisible, type HistoryVisibility, type ViewPoint } from '../../spec/history-visibility';
import { stateTuple } from '../../spec/pdu';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';

const HISTORY_VISIBILITY = stateTuple('m.room.history_visibility', '');
/** State events whose deciding parts are remembered. */
const REMEMBERED_EVENTS = 100_000;

/** What visibility reads of a state event: a membership, or a history visibility setting. */
interface Deciding {
  membership?: string;
  visibility: HistoryVisibility;
}

export interface VisibilityOptions {
  /** The user's current membership of each room, when the caller has read it already. */
  memberships?: ReadonlyMap<string, string>;
}

/** History visibility settings under which a current member sees everything. */
const OPEN: ReadonlySet<HistoryVisibility> = new Set(['shared', 'world_readable']);

export class Visibility {
  private readonly deciding = new Map<string, Deciding>();
  private readonly visibilityOfGroup = new Map<number, HistoryVisibility>();

  constructor(private readonly stores: Stores) {}

  /** Whether the room's current history visibility is world_readable, so anyone may read it now. */
  async worldReadableNow(roomId: string): Promise<boolean> {
    const event = await this.stores.roomState.currentStateEvent(roomId, 'm.room.history_visibility', '');
    return historyVisibilityOf(event?.pdu.content) === 'world_readable';
  }

  /** The events `userId` may see, in the order given. */
  async filter(userId: string, events: readonly StoredEvent[], options: VisibilityOptions = {}): Promise<StoredEvent[]> {
    const placed = events.filter((stored) => stored.stateGroupBefore !== null);
    if (placed.length === 0) return [];
    // A member who is joined now sees every event of history that was shared (or world-readable) when it was sent,
    // whatever their own membership was then: no need to look that up.
    const judged = new Set<StoredEvent>();
    for (const stored of placed) {
      const open = options.memberships?.get(stored.roomId) === 'join' && OPEN.has(await this.historyVisibilityIn(stored.stateGroupBefore!));
      if (!open) judged.add(stored);
    }
    if (judged.size === 0) return placed;
    const seen = new Set(await this.judge(userId, [...judged], options));
    return placed.filter((stored) => !judged.has(stored) || seen.has(stored));
  }

  /** The history visibility setting in a state group (groups never change, so it is remembered). */
  private async historyVisibilityIn(group: number): Promise<HistoryVisibility> {
    let visibility = this.visibilityOfGroup.get(group);
    if (visibility === undefined) {
      const id = await this.stores.stateGroups.entry(group, HISTORY_VISIBILITY);
      visibility = id === undefined ? 'shared' : (await this.decidingParts([id])).get(id)!.visibility;
      this.visibilityOfGroup.set(group, visibility);
      if (this.visibilityOfGroup.size > REMEMBERED_EVENTS) this.visibilityOfGroup.delete(this.visibilityOfGroup.keys().next().value!);
    }
    return visibility;
  }

  /** The spec's rules, event by event, from the user's view of the room at each. */
  private async judge(userId: string, placed: readonly StoredEvent[], options: VisibilityOptions): Promise<StoredEvent[]> {
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
    const joinedAfterwards = await this.joinedAfterwards(userId, placed, options.memberships);
    return placed.filter((stored) => {
      const before = views.get(stored.stateGroupBefore!)!;
      const after = judgedOnBoth(stored) && stored.stateGroupAfter !== null ? views.get(stored.stateGroupAfter)! : before;
      const { type, state_key: stateKey } = stored.event.pdu;
      return isEventVisible({ type, stateKey, userId, before, after, joinedAfterwards: joinedAfterwards(stored) });
    });
  }

  /**
   * Whether the user may see an event sent in the state before `stored` (a
   * timeline event): the rules applied to the point just before it. Used to
   * decide whether history behind a gap is worth fetching before any of it is
   * here; the events fetched are then judged one by one as always.
   */
  async mayReadBefore(userId: string, stored: StoredEvent): Promise<boolean> {
    if (stored.stateGroupBefore === null || stored.streamOrdering === null) return false;
    const view = (await this.viewPoints([stored.stateGroupBefore], userId)).get(stored.stateGroupBefore)!;
    // Joined afterwards counts `stored` itself: the user's own join is after the history behind it.
    const joinedAfterwards = await this.joinedAfterwards(userId, [stored]);
    return allowedAt(view, joinedAfterwards({ ...stored, streamOrdering: stored.streamOrdering - 1 }));
  }

  async canSee(userId: string, stored: StoredEvent): Promise<boolean> {
    return (await this.filter(userId, [stored])).length === 1;
  }

  /** Whether the user's membership was `join` at some point after each event (now included). */
  private async joinedAfterwards(
    userId: string,
    events: readonly StoredEvent[],
    known?: ReadonlyMap<string, string>,
  ): Promise<(stored: StoredEvent) => boolean> {
    const rooms = new Map<string, { joinedNow: boolean; lastJoin?: number }>();
    for (const roomId of new Set(events.map((stored) => stored.roomId))) {
      const membership = known?.has(roomId) ? known.get(roomId) : await this.stores.memberships.of(roomId, userId);
      const joinedNow = membership === 'join';
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
    const entries = new Map<number, { visibility?: string; member?: string }>();
    for (const group of groups) {
      entries.set(group, {
        visibility: await this.stores.stateGroups.entry(group, HISTORY_VISIBILITY),
        member: await this.stores.stateGroups.entry(group, memberTuple),
      });
    }
    const deciding = await this.decidingParts([...entries.values()].flatMap((e) => [e.visibility, e.member].filter((id): id is string => id !== undefined)));
    const views = new Map<number, ViewPoint>();
    for (const [group, { visibility, member }] of entries) {
      views.set(group, {
        visibility: visibility === undefined ? 'shared' : deciding.get(visibility)!.visibility,
        membership: member === undefined ? undefined : deciding.get(member)?.membership,
      });
    }
    return views;
  }

  /** The membership and history visibility the events set, remembered across calls. */
  private async decidingParts(ids: string[]): Promise<Map<string, Deciding>> {
    const missing = [...new Set(ids)].filter((id) => !this.deciding.has(id));
    for (const stored of (await this.stores.events.get(missing)).values()) {
      const { content } = stored.event.pdu;
      this.deciding.set(stored.event.id, {
        membership: typeof content.membership === 'string' ? content.membership : undefined,
        visibility: historyVisibilityOf(content),
      });
      if (this.deciding.size > REMEMBERED_EVENTS) this.deciding.delete(this.deciding.keys().next().value!);
    }
    return new Map(ids.map((id) => [id, this.deciding.get(id) ?? { visibility: 'shared' }]));
  }
}

/**
 * Which events a room's /sync timeline holds: the latest `limit` events of a
 * stream range that pass the timeline filter, that the user may see (history
 * visibility) and whose senders they do not ignore, oldest first, and whether
 * more came before them in the range (`limited`).
 */
import type { RoomEventFilter } from '../../spec/filter';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import { passes } from '../rooms/timeline';
import type { Visibility } from '../rooms/visibility';

/** Timeline rows read per room and request at most, however few of them the user may see. */
const MAX_SCAN = 1000;
/** Rows read per query once a timeline has come up short. */
const REFILL_BATCH = 100;

export interface TimelineRange {
  roomId: string;
  /** Exclusive; absent: from the start of the room. */
  after?: number;
  /** Inclusive. */
  upTo: number;
  limit: number;
}

export interface TimelineViewer {
  userId: string;
  /** Senders whose non-state events the user ignores. */
  ignored: ReadonlySet<string>;
  /** The user's membership of each room they have one in. */
  memberships: ReadonlyMap<string, string>;
}

export interface SelectedTimeline {
  /** Oldest first. */
  events: StoredEvent[];
  limited: boolean;
  /** The range holds no timeline event at all (not even one the user may not see). */
  rangeEmpty: boolean;
}

export class SyncTimelines {
  constructor(
    private readonly stores: Stores,
    private readonly visibility: Visibility,
  ) {}

  /**
   * Selects the timeline of `range`. `known`, when given, holds every timeline
   * event of the range (oldest first), so nothing needs reading.
   */
  async select(viewer: TimelineViewer, range: TimelineRange, filter: RoomEventFilter, known?: readonly StoredEvent[]): Promise<SelectedTimeline> {
    const accept = (stored: StoredEvent) =>
      passes(filter, stored) && (stored.event.pdu.state_key !== undefined || !viewer.ignored.has(stored.event.pdu.sender));
    const picked: StoredEvent[] = [];
    let before = range.upTo + 1;
    let scanned = 0;
    const result = (limited: boolean) => ({ events: picked.reverse(), limited, rangeEmpty: scanned === 0 });
    for (;;) {
      const size = known ? known.length : Math.min(picked.length === 0 ? range.limit + 1 : REFILL_BATCH, MAX_SCAN - scanned);
      const rows = known
        ? [...known].reverse()
        : await this.stores.events.byStream(range.roomId, { after: range.after, before, order: 'desc', limit: size });
      scanned += rows.length;
      const visible = new Set((await this.visibility.filter(viewer.userId, rows.filter(accept), { memberships: viewer.memberships })).map((e) => e.event.id));
      for (const row of rows) {
        if (!visible.has(row.event.id)) continue;
        if (picked.length === range.limit) return result(true);
        picked.push(row);
      }
      const exhausted = known !== undefined || rows.length < size;
      if (exhausted) return result(false);
      if (scanned >= MAX_SCAN || picked.length === range.limit) return result(true);
      before = rows.at(-1)!.streamOrdering!;
    }
  }
}

/**
 * The timeline events of every room in a short stream range, read once and
 * shared: when a new event wakes a thousand waiting syncs, they all ask for the
 * same (since, to] range, and one query answers them all. Ranges longer than
 * MAX_RANGE are read per room instead.
 */
import type { Stores } from '../../../storage';
import type { StoredEvent } from '../../../storage/events';
import { SharedReads } from '../../../storage/shared-reads';

/** The widest range read at once (in stream positions). */
const MAX_RANGE = 500;

export class RecentEvents {
  /** Shared for long enough for one wake-up's requests, short enough that redactions show soon. */
  private readonly shared = new SharedReads<Map<string, StoredEvent[]>>(2000, 32);

  constructor(private readonly stores: Stores) {}

  /** Every timeline event in (after, upTo] by room, oldest first; undefined when the range is too long to read at once. */
  byRoom(after: number, upTo: number): Promise<Map<string, StoredEvent[]>> | undefined {
    if (upTo - after > MAX_RANGE) return undefined;
    return this.shared.get(`${after}:${upTo}`, () => this.read(after, upTo));
  }

  private async read(after: number, upTo: number): Promise<Map<string, StoredEvent[]>> {
    const rooms = new Map<string, StoredEvent[]>();
    for (const stored of await this.stores.events.inStreamRange(after, upTo, MAX_RANGE + 1)) {
      let list = rooms.get(stored.roomId);
      if (!list) rooms.set(stored.roomId, (list = []));
      list.push(stored);
    }
    return rooms;
  }
}

/**
 * The timeline events of every room in a short stream range, read once and
 * shared: when a new event wakes a thousand waiting syncs, they all ask for the
 * same (since, to] range, and one query answers them all. Ranges longer than
 * MAX_RANGE are read per room instead.
 */
import type { Stores } from '../../../storage';
import type { StoredEvent } from '../../../storage/events';

/** The widest range read at once (in stream positions). */
const MAX_RANGE = 500;
/** How long an answer is shared: long enough for one wake-up's requests, short enough that redactions show soon. */
const SHARE_MS = 2000;
const MAX_SHARED = 32;

export class RecentEvents {
  private readonly shared = new Map<string, { at: number; rooms: Promise<Map<string, StoredEvent[]>> }>();

  constructor(
    private readonly stores: Stores,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every timeline event in (after, upTo] by room, oldest first; undefined when the range is too long to read at once. */
  byRoom(after: number, upTo: number): Promise<Map<string, StoredEvent[]>> | undefined {
    if (upTo - after > MAX_RANGE) return undefined;
    const key = `${after}:${upTo}`;
    const hit = this.shared.get(key);
    if (hit && this.now() - hit.at < SHARE_MS) return hit.rooms;
    const rooms = this.read(after, upTo);
    this.shared.set(key, { at: this.now(), rooms });
    rooms.catch(() => this.shared.delete(key));
    while (this.shared.size > MAX_SHARED) this.shared.delete(this.shared.keys().next().value!);
    return rooms;
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

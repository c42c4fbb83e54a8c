/**
 * Lazy-loading's memory of the member events each device has been sent in
 * each room, so incremental syncs can leave out the redundant ones (unless the
 * filter sets include_redundant_members). Bounded; forgetting only means
 * sending a member event again, which the spec allows.
 */
import type { StoredEvent } from '../../storage/events';

const MAX_ENTRIES = 50_000;

export class SentMembers {
  /** `${userId}|${deviceId}|${roomId}` → member user ID → the member event sent. */
  private readonly sent = new Map<string, Map<string, string>>();

  /** The users among `members` (user ID → their member event) whose member event the device has not been sent. */
  unsent(device: { userId: string; deviceId: string }, roomId: string, members: ReadonlyMap<string, string>): Set<string> {
    const known = this.sent.get(key(device, roomId));
    const unsent = new Set<string>();
    for (const [userId, eventId] of members) if (known?.get(userId) !== eventId) unsent.add(userId);
    return unsent;
  }

  /** Records the member events among `events` as sent to the device; `fresh` starts the room's record anew. */
  record(device: { userId: string; deviceId: string }, roomId: string, events: readonly StoredEvent[], fresh: boolean): void {
    const k = key(device, roomId);
    let known = fresh ? undefined : this.sent.get(k);
    this.sent.delete(k);
    for (const stored of events) {
      const { type, state_key: stateKey } = stored.event.pdu;
      if (type !== 'm.room.member' || stateKey === undefined) continue;
      (known ??= new Map()).set(stateKey, stored.event.id);
    }
    if (!known) return;
    this.sent.set(k, known);
    if (this.sent.size > MAX_ENTRIES) this.sent.delete(this.sent.keys().next().value!);
  }
}

const key = (device: { userId: string; deviceId: string }, roomId: string) => `${device.userId}|${device.deviceId}|${roomId}`;

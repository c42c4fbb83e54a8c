/**
 * Wakes the sync requests (long-poll and WebSocket) that a change concerns, and
 * no others. Every change is announced with the keys it concerns: a room
 * (events, typing, receipts, and the presence and device lists of its members),
 * a user (their account data, push rules, private receipts, their own
 * membership changes) or one device (its to-device queue). A waiting request
 * listens on its user, its device and its joined rooms.
 *
 * A waiter takes a mark before it reads the stream positions; a change
 * announced after the mark wakes it even if it arrives before the waiter starts
 * to wait, so no change falls between reading and waiting.
 *
 * Several processes: each forwards the keys it announces to the others
 * (docs/sync.md), which call `notify` on theirs.
 */

export type WakeKey = string;

export const roomKey = (roomId: string): WakeKey => `r${roomId}`;
export const userKey = (userId: string): WakeKey => `u${userId}`;
export const deviceKey = (userId: string, deviceId: string): WakeKey => `d${userId}|${deviceId}`;

interface Waiter {
  wake(): void;
  stop(): void;
}

export class Notifier {
  private closed = false;
  private version = 0;
  /** The version of the last change announced for each key. */
  private readonly lastChange = new Map<WakeKey, number>();
  private readonly waiting = new Map<WakeKey, Set<Waiter>>();
  private readonly forwarders = new Set<(keys: readonly WakeKey[]) => void>();

  /** A mark to pass to `wait`. */
  mark(): number {
    return this.version;
  }

  /** Announces a change concerning `keys`: wakes every request waiting on any of them. */
  notify(keys: Iterable<WakeKey>): void {
    const list = [...keys];
    if (list.length === 0) return;
    const version = ++this.version;
    const woken = new Set<Waiter>();
    for (const key of list) {
      this.lastChange.set(key, version);
      const waiters = this.waiting.get(key);
      if (waiters) for (const waiter of waiters) woken.add(waiter);
    }
    for (const waiter of woken) waiter.wake();
    for (const forward of this.forwarders) forward(list);
  }

  /** Receives every announcement made here, e.g. to pass it on to other processes. */
  onNotify(forward: (keys: readonly WakeKey[]) => void): () => void {
    this.forwarders.add(forward);
    return () => this.forwarders.delete(forward);
  }

  /**
   * Resolves true as soon as a change concerning any of `keys` is announced after
   * `mark` (at once if one already was), false after `timeoutMs`, or when `signal` aborts.
   */
  wait(keys: readonly WakeKey[], mark: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (keys.some((key) => (this.lastChange.get(key) ?? 0) > mark)) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const finish = (woken: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const key of keys) {
          const waiters = this.waiting.get(key);
          if (!waiters) continue;
          waiters.delete(waiter);
          if (waiters.size === 0) this.waiting.delete(key);
        }
        resolve(woken);
      };
      const waiter: Waiter = { wake: () => finish(true), stop: () => finish(false) };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener('abort', onAbort);
      for (const key of keys) {
        let waiters = this.waiting.get(key);
        if (!waiters) this.waiting.set(key, (waiters = new Set()));
        waiters.add(waiter);
      }
    });
  }

  /** Ends every wait (the server is stopping): waiting requests answer with what they have. */
  close(): void {
    this.closed = true;
    const all = new Set<Waiter>();
    for (const waiters of this.waiting.values()) for (const waiter of waiters) all.add(waiter);
    for (const waiter of all) waiter.stop();
  }

  /** How many requests are waiting (for metrics and tests). */
  get waiters(): number {
    const all = new Set<Waiter>();
    for (const waiters of this.waiting.values()) for (const waiter of waiters) all.add(waiter);
    return all.size;
  }
}

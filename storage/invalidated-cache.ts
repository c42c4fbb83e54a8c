/**
 * A bounded cache of reads that its owner invalidates whenever it changes what
 * they read. A read that was in flight during any invalidation is not kept,
 * so a value read before a change never outlives it.
 *
 * Invalidation is by this process: data other processes change must reach it
 * through a notification (docs/sync.md).
 */
export class InvalidatedCache<V> {
  private readonly values = new Map<string, V>();
  /** Bumped by every invalidation: reads that straddle one are not kept. */
  private generation = 0;

  constructor(private readonly maxEntries: number) {}

  async get(key: string, read: () => Promise<V>): Promise<V> {
    if (this.values.has(key)) return this.values.get(key)!;
    const generation = this.generation;
    const value = await read();
    if (this.generation === generation) {
      this.values.set(key, value);
      if (this.values.size > this.maxEntries) this.values.delete(this.values.keys().next().value!);
    }
    return value;
  }

  /** Forgets the keys for which `matches` holds (one key: `(k) => k === key`). */
  invalidate(matches: (key: string) => boolean): void {
    this.generation++;
    for (const key of [...this.values.keys()]) if (matches(key)) this.values.delete(key);
  }
}

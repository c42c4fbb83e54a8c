/**
 * Which stream positions a reader may rely on. Writers to different rooms commit
 * in any order on PostgreSQL, so the highest committed position can sit above a
 * lower one still in flight; a /sync reader that moved past the gap would never
 * see the late event. `latest()` is therefore the highest position below every
 * allocation still in flight: nothing at or below it can appear afterwards.
 *
 * The tracker knows the allocations of this process only: Weft writes events
 * from one process.
 */
import type { Db } from './db';
import { whenSettled } from './transactions';

interface InFlight {
  /** Every position this allocation may take is above this. */
  below: number;
}

export class StreamPositions {
  private committed: number | undefined;
  private readonly inFlight = new Set<InFlight>();
  /** Callers of caughtUp() waiting for `target` to become readable. */
  private waiting: { target: number; resolve: () => void }[] = [];

  /** The positions of `table`'s column `column`, which each write takes from a sequence. */
  constructor(
    private readonly db: Db,
    private readonly table: string,
    private readonly column: string,
  ) {}

  /** The highest position a reader can safely read up to. */
  async latest(db: Db = this.db): Promise<number> {
    await this.load(db);
    return this.safe();
  }

  /**
   * Resolves once every position committed so far is readable: no write still
   * in flight holds one back. A change is announced (to the syncs it wakes)
   * only then, or a woken reader would find nothing and miss it.
   */
  caughtUp(): Promise<void> {
    const target = this.committed ?? 0;
    if (this.safe() >= target) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ target, resolve }));
  }

  private safe(): number {
    let safe = this.committed ?? 0;
    for (const allocation of this.inFlight) safe = Math.min(safe, allocation.below);
    return safe;
  }

  private settle(allocation: InFlight): void {
    this.inFlight.delete(allocation);
    if (this.waiting.length === 0) return;
    const safe = this.safe();
    const ready = this.waiting.filter((w) => w.target <= safe);
    this.waiting = this.waiting.filter((w) => w.target > safe);
    for (const w of ready) w.resolve();
  }

  /**
   * Runs `write`, which may take a stream position inside transaction `trx`
   * (`positionOf` tells which); the position becomes readable once `trx` commits.
   */
  async track<T>(trx: Db, write: () => Promise<T>, positionOf: (result: T) => number | null): Promise<T> {
    const allocation: InFlight = { below: await this.load(trx) };
    this.inFlight.add(allocation);
    let result: T;
    try {
      result = await write();
    } catch (err) {
      this.settle(allocation);
      throw err;
    }
    const position = positionOf(result);
    if (position === null) {
      this.settle(allocation);
      return result;
    }
    allocation.below = position - 1;
    whenSettled(
      trx,
      () => {
        this.committed = Math.max(this.committed ?? 0, position);
        this.settle(allocation);
      },
      () => this.settle(allocation),
    );
    return result;
  }

  private async load(db: Db): Promise<number> {
    if (this.committed === undefined) {
      const row = await db(this.table).max<{ max: number | string | null }[]>({ max: this.column }).first();
      this.committed = Math.max(this.committed ?? 0, Number(row?.max ?? 0));
    }
    return this.committed;
  }
}

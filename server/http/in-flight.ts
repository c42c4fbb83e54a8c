/**
 * Work started by requests that is still running: a stopping server waits for
 * it before it closes the database, even for requests whose client has gone.
 */
export class InFlight {
  private count = 0;
  private waiting: (() => void)[] = [];

  /** Runs `work`, counted until it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      if (--this.count === 0) for (const resolve of this.waiting.splice(0)) resolve();
    }
  }

  /** Resolves once nothing is running. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiting.push(resolve));
  }
}

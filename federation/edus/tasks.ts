/** Work the EDU handlers start in the background (resyncs, outbound EDUs), awaited before the database closes. */
import type { Logger } from '../../server/log';

export class BackgroundTasks {
  private readonly running = new Set<Promise<unknown>>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  /** Runs `work` in the background; a failure is logged as `what`. */
  run(what: string, work: () => Promise<unknown>): void {
    const task = work().catch((err) => this.log.warn({ err }, what));
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Runs `work` after the work queued before with the same key has ended: one user's changes stay in order. */
  inOrder<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => {});
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  /** Resolves once nothing runs in the background (work started meanwhile included). */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.queues.size > 0) await Promise.allSettled([...this.running, ...this.queues.values()]);
  }
}

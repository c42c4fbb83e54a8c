/**
 * Delivery of the queues: one loop per destination with something queued,
 * each sending one transaction at a time (the spec requires a 200 before the
 * next transaction ID), independent of every other destination's. A failure
 * backs the destination off exponentially, persisted so a restart does not
 * hammer a dead server; when that server contacts us, `wake` ends the backoff.
 * A limiter bounds the transactions in flight across destinations.
 */
import type { Logger } from 'pino';
import type { Backoff, ClaimedBatch, Delivered, FederationOutboxStore } from '../../storage/federation-outbox';
import { federationPdu } from './pdu';
import { MAX_EDUS, MAX_PDUS, type Transaction, type TransactionTransport } from './transport';

export interface DeliveryOptions {
  store: FederationOutboxStore;
  transport: TransactionTransport;
  serverName: string;
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long one attempt may take before it counts as failed. */
  requestTimeoutMs: number;
  /** Transactions in flight at once, across destinations. */
  maxConcurrent: number;
  log: Logger;
  now: () => number;
}

interface Loop {
  readonly destination: string;
  /** Something was queued since the loop last claimed. */
  dirty: boolean;
  /** The transaction to resend as it was: the one that failed, or the one the last run left. */
  pending?: ClaimedBatch;
  /** The transaction just delivered, acknowledged with the next claim. */
  delivered?: Delivered;
  /** Ends the loop's current wait early. */
  interrupt?: () => void;
}

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Queue reads and writes in progress at once across the loops: the sender
 * leaves the rest of the database's connections to client requests. Under
 * load the loops wait their turn, and batches grow instead of transactions.
 */
const DB_SLOTS = 2;
/**
 * After delivering a transaction that was not full, a loop waits this long
 * before it looks again: under a steady flow, what arrives meanwhile goes in
 * one transaction instead of one each (each costs a claim and an
 * acknowledgement in the database). A first event after a quiet spell goes at once.
 */
const LINGER_MS = 20;
/** A destination's last success is recorded at most this often while it stays up. */
const RECORD_SUCCESS_EVERY_MS = 60_000;

export class Delivery {
  private readonly loops = new Map<string, Loop>();
  private readonly tasks = new Set<Promise<unknown>>();
  /** Destinations backing off, mirrored in the database; loaded by start(). */
  private backoffs = new Map<string, Backoff>();
  private readonly limiter: Limiter;
  private readonly dbSlots = new Limiter(DB_SLOTS);
  /** Transaction IDs are `<ms when first attempted>.<counter>`: unique, and they carry their origin_server_ts. */
  private txnCounter = 0;
  /**
   * Destinations whose transaction left by the last run has been looked for. A
   * loop ends only with nothing pending (or at stop), so a later loop need not look.
   */
  private readonly resumed = new Set<string>();
  /** When each destination's success was last recorded. */
  private readonly successRecorded = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly started: Promise<void>;
  private markStarted!: () => void;

  constructor(private readonly options: DeliveryOptions) {
    this.limiter = new Limiter(options.maxConcurrent);
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Loads the backoffs and resumes every destination with something queued. */
  async start(): Promise<void> {
    try {
      this.backoffs = await this.options.store.backoffs();
      for (const destination of await this.options.store.pendingDestinations()) this.kick(destination);
    } finally {
      this.markStarted();
    }
  }

  /** Something was queued for `destination`: make sure its loop runs. */
  kick(destination: string): void {
    if (this.stopped) return;
    const running = this.loops.get(destination);
    if (running) {
      running.dirty = true;
      return;
    }
    const loop: Loop = { destination, dirty: false };
    this.loops.set(destination, loop);
    this.track(
      this.run(loop).finally(() => {
        this.loops.delete(destination);
        // Queued after the loop's last look: start again.
        if (loop.dirty) this.kick(destination);
      }),
    );
  }

  /** `destination` is reachable (it contacted us): forget its backoff and retry now. */
  wake(destination: string): void {
    if (this.stopped || !this.backoffs.delete(destination)) return;
    this.track(this.options.store.setBackoff(destination, null));
    this.loops.get(destination)?.interrupt?.();
  }

  /** When the destination may next be tried (undefined: now). */
  retryAt(destination: string): number | undefined {
    return this.backoffs.get(destination)?.retryAt;
  }

  /** Ends every loop; a transaction in flight is abandoned (and resent, same ID, on the next start). */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('federation sender stopped'));
    for (const loop of this.loops.values()) loop.interrupt?.();
    this.limiter.close();
    this.dbSlots.close();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  private track(task: Promise<unknown>): void {
    const tracked = task
      .catch((err) => this.options.log.error({ err }, 'federation delivery failed'))
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private async run(loop: Loop): Promise<void> {
    await this.started;
    const { store, now, log, retryInitialMs } = this.options;
    const { destination } = loop;
    while (!this.stopped) {
      const wait = (this.backoffs.get(destination)?.retryAt ?? 0) - now();
      if (wait > 0) {
        await this.pause(loop, wait);
        continue;
      }
      loop.dirty = false;
      try {
        if (!this.resumed.has(destination)) {
          loop.pending = await this.db(() => store.pending(destination));
          this.resumed.add(destination);
        }
        let batch = loop.pending;
        if (!batch) {
          batch = await this.db(() => store.claim(destination, `${now()}.${++this.txnCounter}`, { pdus: MAX_PDUS, edus: MAX_EDUS }, loop.delivered));
          loop.delivered = undefined;
        }
        if (!batch) {
          if (loop.dirty) continue;
          return;
        }
        loop.pending = batch;
        if (await this.attempt(destination, batch)) {
          loop.pending = undefined;
          loop.delivered = this.deliveredNow(destination, batch.txnId);
          if (batch.pdus.length < MAX_PDUS && batch.edus.length < MAX_EDUS) await this.pause(loop, LINGER_MS);
        }
      } catch (err) {
        // The database, not the destination, failed: a claimed batch is resent as it was.
        if (this.stopped) break;
        log.error({ err, destination }, 'federation queue failed; retrying');
        await this.pause(loop, retryInitialMs);
      }
    }
    const { delivered } = loop;
    if (delivered) await this.db(() => store.delivered(destination, delivered));
  }

  /** Sends one transaction; true once it is delivered. */
  private async attempt(destination: string, batch: ClaimedBatch): Promise<boolean> {
    const { transport, log } = this.options;
    const body = this.body(batch);
    if (body.pdus.length === 0 && body.edus.length === 0) return true;
    const release = await this.limiter.acquire();
    if (this.stopped) {
      release();
      return false;
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${this.options.requestTimeoutMs} ms`)), this.options.requestTimeoutMs);
    const signal = AbortSignal.any([this.stopping.signal, timeout.signal]);
    let result;
    try {
      result = await untilAborted(transport.sendTransaction(destination, batch.txnId, body, { signal }), signal);
    } catch (err) {
      if (!this.stopped) await this.failed(destination, batch, err);
      return false;
    } finally {
      clearTimeout(timer);
      release();
    }
    if (this.stopped) return false;
    for (const [eventId, outcome] of Object.entries(result?.pdus ?? {})) {
      if (outcome?.error !== undefined) log.warn({ destination, event_id: eventId, error: outcome.error }, 'remote server refused a PDU');
    }
    return true;
  }

  /** The acknowledgement of a delivered transaction; it records the success after a failure, and otherwise now and then. */
  private deliveredNow(destination: string, txnId: string): Delivered {
    const nowMs = this.options.now();
    const recordSuccess = this.backoffs.delete(destination) || nowMs - (this.successRecorded.get(destination) ?? 0) >= RECORD_SUCCESS_EVERY_MS;
    if (recordSuccess) this.successRecorded.set(destination, nowMs);
    return { txnId, nowMs, recordSuccess };
  }

  private async failed(destination: string, batch: ClaimedBatch, err: unknown): Promise<void> {
    const { retryInitialMs, retryMaxMs, now, log, store } = this.options;
    const failures = (this.backoffs.get(destination)?.failures ?? 0) + 1;
    const delay = Math.min(retryInitialMs * 2 ** Math.min(failures - 1, 52), retryMaxMs);
    const backoff = { failures, retryAt: now() + delay };
    this.backoffs.set(destination, backoff);
    log.info({ destination, txn_id: batch.txnId, failures, retry_ms: delay, reason: err instanceof Error ? err.message : String(err) }, 'federation transaction failed; backing off');
    await this.db(() => store.setBackoff(destination, backoff));
  }

  /** The transaction body: the batch's PDUs as sent over federation, and its EDUs. */
  private body(batch: ClaimedBatch): Transaction {
    const pdus = [];
    for (const { eventId, event } of batch.pdus) {
      if (event) pdus.push(federationPdu(event));
      else this.options.log.warn({ event_id: eventId }, 'queued PDU no longer stored; not sent');
    }
    const startedTs = Number(batch.txnId.slice(0, batch.txnId.indexOf('.')));
    return { origin: this.options.serverName, origin_server_ts: startedTs, pdus, edus: batch.edus.map((e) => e.edu) };
  }

  /** Runs a queue read or write in one of the sender's database slots. */
  private async db<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.dbSlots.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /** Waits `ms`, or less if interrupted (wake, stop). */
  private pause(loop: Loop, ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        loop.interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      loop.interrupt = done;
    });
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (a transport that ignores the signal cannot hold a loop). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** At most `max` holders at once; the rest wait in order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(private readonly max: number) {}

  async acquire(): Promise<() => void> {
    if (this.active < this.max || this.closed) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  /** Lets every waiter through (they find the sender stopped). */
  close(): void {
    this.closed = true;
    for (const next of this.waiting.splice(0)) {
      this.active++;
      next();
    }
  }
}

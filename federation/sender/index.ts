/**
 * Outbound federation (docs/federation.md, "Outbound queues"): persistent
 * per-destination queues of PDUs and EDUs, delivered in transactions with
 * backoff. The composition root builds it with the signed HTTP transport.
 */
import type { Logger } from 'pino';
import { parseUserId } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import type { Config } from '../../server/config/schema';
import type { EventBus } from '../../server/rooms/event-bus';
import { Delivery } from './delivery';
import { PduFanOut } from './fan-out';
import { FederationSender } from './sender';
import type { TransactionTransport } from './transport';

export { FederationSender } from './sender';
export { federationPdu } from './pdu';
export { MAX_EDUS, MAX_PDUS, type Edu, type Transaction, type TransactionResult, type TransactionTransport } from './transport';

export interface FederationSenderOptions {
  config: Config;
  stores: Stores;
  events: EventBus;
  log: Logger;
  transport: TransactionTransport;
  now?: () => number;
  /** Transactions in flight at once, across destinations. */
  maxConcurrentTransactions?: number;
}

export interface RunningFederationSender {
  sender: FederationSender;
  /** Resolves once the queues left by the last run are resumed. */
  ready: Promise<void>;
  /** Ends every loop and waits for them; call before the database closes. */
  stop(): Promise<void>;
}

const DEFAULT_MAX_CONCURRENT = 64;

/** Starts the sender: subscribes to the room engine's events and resumes every destination with something queued. */
export function createFederationSender(options: FederationSenderOptions): RunningFederationSender {
  const { config, stores, events, transport } = options;
  const serverName = config.server_name;
  const now = options.now ?? Date.now;
  const log = options.log.child({ component: 'federation-sender' });
  const delivery = new Delivery({
    store: stores.federationOutbox,
    transport,
    serverName,
    retryInitialMs: config.federation.retry_initial_ms,
    retryMaxMs: config.federation.retry_max_ms,
    requestTimeoutMs: config.federation.request_timeout_ms,
    maxConcurrent: options.maxConcurrentTransactions ?? DEFAULT_MAX_CONCURRENT,
    log,
    now,
  });
  const fanOut = new PduFanOut(stores, serverName, log, (destinations) => {
    for (const destination of destinations) delivery.kick(destination);
  });
  // Only our own users' events are sent; the listener does no I/O, so the request that sent the event never waits.
  const unsubscribe = events.subscribe(({ event }) => {
    if (parseUserId(event.pdu.sender)?.serverName === serverName) fanOut.wake();
  });
  const ready = delivery.start().then(
    () => fanOut.wake(),
    (err) => log.error({ err }, 'could not resume the federation queues'),
  );
  return {
    sender: new FederationSender(stores, serverName, fanOut, delivery),
    ready,
    async stop() {
      unsubscribe();
      await ready;
      await fanOut.stop();
      await delivery.stop();
    },
  };
}

/**
 * The outbound federation sender: events/s delivered to 10 servers in a room
 * when one of them is down (refusing at once, or hanging until the request
 * timeout), through a fake transport answering after a small latency.
 *
 * - live: the events are sent while the sender runs; the time runs from the
 *   first send until every healthy server has every event.
 * - backlog: the events are committed while no sender runs (a restart after
 *   downtime); the time runs from the sender's start until all are delivered.
 *
 *   npm run build && node --expose-gc dist/bench/federation-sender.js
 *   (BENCH_EVENTS, BENCH_LATENCY_MS; WEFT_TEST_POSTGRES_URL for PostgreSQL)
 */
import pino from 'pino';
import type { Requester } from '../server/http/route';
import { createFederationSender, type RunningFederationSender } from '../federation/sender';
import type { Transaction, TransactionResult, TransactionTransport } from '../federation/sender/transport';
import { persistRemoteJoin } from '../test/helpers/federation';
import { createUser, startServer, type TestServer } from '../test/helpers/server';
import { mib } from './lib';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 5);
const SERVERS = 10;
const DOWN = 'remote-0.test';
const REQUEST_TIMEOUT_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class BenchTransport implements TransactionTransport {
  readonly received = new Map<string, number>();
  transactions = 0;
  constructor(private readonly down: 'refused' | 'hanging') {}

  async sendTransaction(destination: string, _txnId: string, body: Transaction): Promise<TransactionResult> {
    if (destination === DOWN && this.down === 'hanging') return new Promise(() => {});
    await sleep(LATENCY_MS);
    if (destination === DOWN) throw new Error('connection refused');
    this.transactions++;
    this.received.set(destination, (this.received.get(destination) ?? 0) + body.pdus.length);
    return { pdus: {} };
  }

  /** Whether every healthy server has `count` PDUs. */
  all(count: number): boolean {
    for (let i = 1; i < SERVERS; i++) if ((this.received.get(`remote-${i}.test`) ?? 0) < count) return false;
    return true;
  }
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(2);
}

function start(server: TestServer, transport: BenchTransport): RunningFederationSender {
  return createFederationSender({
    config: { ...server.config, federation: { ...server.config.federation, retry_initial_ms: 100, retry_max_ms: 2000, request_timeout_ms: REQUEST_TIMEOUT_MS } },
    stores: server.hs.services.stores,
    events: server.hs.services.events,
    log: pino({ level: 'silent' }),
    transport,
  });
}

export async function main(): Promise<void> {
  const backend = process.env.WEFT_TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';
  // The bench's senders only: the homeserver's own would claim the same queues and send them over the network.
  const server = await startServer({ federation: { send_outbound: false } });
  const { services } = server.hs;
  const alice = await createUser(server, 'alice');
  const as: Requester = { userId: alice.userId, deviceId: alice.deviceId, isGuest: false, isAdmin: false, accessTokenId: 0 };

  /** A room with a user of each of the 10 servers joined. */
  const room = async () => {
    const roomId = await services.rooms.create(as, { preset: 'public_chat' });
    for (let i = 0; i < SERVERS; i++) await persistRemoteJoin(server, roomId, `@user:remote-${i}.test`);
    return roomId;
  };
  const sendAll = async (roomId: string) => {
    for (let i = 0; i < EVENTS; i++) await services.rooms.send(as, { roomId, type: 'm.room.message', content: { msgtype: 'm.text', body: `message ${i}` } });
  };

  // What the sender costs the sending request when no other server is in the room.
  {
    const rate = async () => {
      const roomId = await services.rooms.create(as, { preset: 'public_chat' });
      const t0 = performance.now();
      await sendAll(roomId);
      return EVENTS / ((performance.now() - t0) / 1000);
    };
    const without = await rate();
    const sender = start(server, new BenchTransport('refused'));
    await sender.sender.caughtUp();
    const withSender = await rate();
    await sender.stop();
    console.log(`Sending into a local-only room: ${without.toFixed(0)} events/s without the sender, ${withSender.toFixed(0)} with it`);
  }

  console.log(`Weft federation sender bench on ${backend}: ${EVENTS} events into a room with ${SERVERS} servers, one down; transport latency ${LATENCY_MS} ms`);
  console.log('case | down server | events/s delivered | transactions | PDUs per transaction | send-only events/s');
  for (const down of ['refused', 'hanging'] as const) {
    // live
    {
      const transport = new BenchTransport(down);
      const sender = start(server, transport);
      await sender.ready;
      const roomId = await room();
      await sender.sender.caughtUp();
      const t0 = performance.now();
      await sendAll(roomId);
      const sent = performance.now();
      await until(() => transport.all(EVENTS));
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `live | ${down} | ${(EVENTS / seconds).toFixed(0)} | ${transport.transactions} | ${((EVENTS * (SERVERS - 1)) / transport.transactions).toFixed(1)} | ${(EVENTS / ((sent - t0) / 1000)).toFixed(0)}`,
      );
      await sender.stop();
    }
    // backlog
    {
      const transport = new BenchTransport(down);
      const roomId = await room();
      const s0 = performance.now();
      await sendAll(roomId);
      const sendOnly = EVENTS / ((performance.now() - s0) / 1000);
      const t0 = performance.now();
      const sender = start(server, transport);
      await until(() => transport.all(EVENTS));
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `backlog | ${down} | ${(EVENTS / seconds).toFixed(0)} | ${transport.transactions} | ${((EVENTS * (SERVERS - 1)) / transport.transactions).toFixed(1)} | ${sendOnly.toFixed(0)} (no sender)`,
      );
      await sender.stop();
    }
  }
  const queued = await services.stores.federationOutbox.queued(DOWN);
  global.gc?.();
  console.log(`Left queued for the down server: ${queued.pdus} PDUs. RSS: ${mib(process.memoryUsage().rss)}`);
  await server.stop();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

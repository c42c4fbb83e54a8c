/**
 * Sync fan-out: a thousand clients follow their rooms over /sync long-polls
 * (then over WebSockets) while messages are sent; the server runs in a process
 * of its own (bench/sync-server.ts), the clients in this one. Measured:
 *
 * - fan-out latency: from the moment PUT /send answers to the moment each
 *   member's sync response arrives (p50, p99), one message at a time;
 * - sustained rate: messages/s from 8 concurrent senders while every member
 *   follows along, and the delivery latency meanwhile;
 * - memory: the server's RSS per idle waiting client;
 * - initial sync of a user in 200 rooms with 50 events each.
 *
 *   npm run build && node --expose-gc dist/bench/sync.js
 *   BENCH_SYNC_CLIENTS=1000 BENCH_SYNC_MESSAGES=20 BENCH_SYNC_SECONDS=10 (defaults)
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { BenchUser, Command } from './sync-server';
import { median, mib, percentile } from './lib';

const CLIENTS = Number(process.env.BENCH_SYNC_CLIENTS ?? 1000);
const MESSAGES = Number(process.env.BENCH_SYNC_MESSAGES ?? 20);
const SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 10);
const SENDERS = 8;
const FILTER = { room: { timeline: { limit: 10 }, state: { lazy_load_members: true } } };
const WS_PATH = '/_matrix/client/unstable/org.weft/sync/ws';

/** The benchmark's server process. */
class ServerProcess {
  private next = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      if (message.id === undefined) return;
      const waiting = this.pending.get(message.id)!;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error));
      else waiting.resolve(message.result);
    });
  }

  static start(): Promise<ServerProcess> {
    const child = fork(join(__dirname, 'sync-server.js'), { execArgv: ['--expose-gc'], env: process.env, stdio: 'inherit' });
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve(new ServerProcess(child)));
      child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)));
    });
  }

  call<T>(command: Command): Promise<T> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...command, id });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.call({ op: 'stop' });
    await exited;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function request(baseUrl: string, method: string, path: string, token: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(baseUrl + path, { method, agent, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** When each event's PUT answered, and how long each member took to see it. */
class Deliveries {
  private readonly sentAt = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  latencies: number[] = [];
  early = 0;

  sent(eventId: string, at: number): void {
    this.sentAt.set(eventId, at);
  }

  received(eventIds: readonly string[]): void {
    const now = performance.now();
    for (const id of eventIds) {
      this.seen.set(id, (this.seen.get(id) ?? 0) + 1);
      const at = this.sentAt.get(id);
      if (at === undefined) {
        // Seen before its PUT answered: the notifier woke the waiter before the sender got its response.
        this.early++;
        this.latencies.push(0);
      } else this.latencies.push(now - at);
    }
  }

  count(eventId: string): number {
    return this.seen.get(eventId) ?? 0;
  }

  reset(): void {
    this.latencies = [];
    this.early = 0;
  }
}

const timelineIds = (response: any): string[] =>
  Object.values(response.rooms?.join ?? {}).flatMap((room: any) => (room.timeline?.events ?? []).map((e: any) => e.event_id));

interface Follower {
  stop(): void;
}

/** A client that long-polls /sync for as long as it runs. */
function followOverHttp(baseUrl: string, user: BenchUser, filterId: string, deliveries: Deliveries, ready: () => void): Follower {
  let stopped = false;
  void (async () => {
    let since = (await request(baseUrl, 'GET', `/_matrix/client/v3/sync?filter=${filterId}`, user.token)).next_batch;
    ready();
    while (!stopped) {
      const response = await request(baseUrl, 'GET', `/_matrix/client/v3/sync?filter=${filterId}&timeout=30000&since=${since}`, user.token).catch(() => undefined);
      if (!response) continue;
      deliveries.received(timelineIds(response));
      since = response.next_batch;
    }
  })();
  return { stop: () => (stopped = true) };
}

/** A client that follows /sync over a WebSocket. */
function followOverWebSocket(baseUrl: string, user: BenchUser, filterId: string, deliveries: Deliveries, ready: () => void): Follower {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${WS_PATH}?filter=${filterId}&access_token=${user.token}`);
  let first = true;
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (first) {
      first = false;
      ready();
      return;
    }
    deliveries.received(timelineIds(frame.response));
  });
  ws.on('error', (err) => console.error('websocket', err.message));
  return { stop: () => ws.terminate() };
}

async function inBatches<T>(items: readonly T[], size: number, task: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(task));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

const ms = (x: number) => x.toFixed(1);

async function fanOut(transport: 'long-poll' | 'WebSocket', rooms: number, members: number): Promise<void> {
  const server = await ServerProcess.start();
  try {
    const { baseUrl, users } = await server.call<{ baseUrl: string; users: BenchUser[] }>({ op: 'rooms', rooms, members });
    const filterIds = new Map<string, string>();
    await inBatches(users, 50, async (user) => {
      filterIds.set(user.userId, (await request(baseUrl, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/filter`, user.token, FILTER)).filter_id);
    });
    const rssBefore = await server.call<number>({ op: 'rss' });

    const deliveries = new Deliveries();
    const followers: Follower[] = [];
    let ready = 0;
    const follow = transport === 'long-poll' ? followOverHttp : followOverWebSocket;
    await inBatches(users, 50, async (user) => {
      followers.push(follow(baseUrl, user, filterIds.get(user.userId)!, deliveries, () => ready++));
      await until(() => ready === followers.length, 60_000);
    });
    const allWaiting = await until(async () => transport === 'WebSocket' || (await server.call<number>({ op: 'waiters' })) === users.length, 60_000);
    await sleep(500);
    const rssAfter = await server.call<number>({ op: 'rss' });

    const byRoom = new Map<string, BenchUser[]>();
    for (const user of users) byRoom.set(user.roomId, [...(byRoom.get(user.roomId) ?? []), user]);
    const roomIds = [...byRoom.keys()];
    let txn = 0;
    const send = async (roomId: string) => {
      const sender = byRoom.get(roomId)![0];
      const { event_id: eventId } = await request(baseUrl, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/b${txn++}`, sender.token, {
        msgtype: 'm.text',
        body: `message ${txn}`,
      });
      deliveries.sent(eventId, performance.now());
      return eventId;
    };

    // One message at a time: each reaches every member before the next is sent.
    deliveries.reset();
    await server.call({ op: 'queries' });
    // BENCH_SYNC_PROFILE=file.cpuprofile profiles the server while messages fan out.
    if (process.env.BENCH_SYNC_PROFILE) await server.call({ op: 'profile' });
    const cpuBefore = await server.call<number>({ op: 'cpu' });
    const messages = Math.max(MESSAGES, rooms);
    for (let i = 0; i < messages; i++) {
      const roomId = roomIds[i % roomIds.length];
      const eventId = await send(roomId);
      await until(() => deliveries.count(eventId) >= members, 10_000);
    }
    const quiet = deliveries.latencies;
    const quietEarly = deliveries.early;
    // Server CPU time per delivery: steadier than latencies on a shared machine.
    const cpuPerDelivery = ((await server.call<number>({ op: 'cpu' })) - cpuBefore) / quiet.length;
    if (process.env.BENCH_SYNC_PROFILE) await server.call({ op: 'profile', file: process.env.BENCH_SYNC_PROFILE });
    if (process.env.BENCH_SYNC_QUERIES) {
      for (const [sql, [n, total]] of await server.call<[string, [number, number]][]>({ op: 'queries' })) {
        console.log(`${(n / messages).toFixed(1)} per message, ${(total / n).toFixed(3)} ms each: ${sql.replace(/\s+/g, ' ').slice(0, 150)}`);
      }
    }

    // Sustained: 8 senders as fast as the server takes them, everyone following.
    deliveries.reset();
    let sent = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, s) => {
        for (let i = s; performance.now() < deadline; i += SENDERS) {
          await send(roomIds[i % roomIds.length]);
          sent++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    await until(() => deliveries.latencies.length >= sent * members, 10_000);
    const busy = deliveries.latencies;

    console.log(
      `${transport} | ${rooms} x ${members} | ${ms(percentile(quiet, 0.5))} | ${ms(percentile(quiet, 0.99))} | ${quiet.length}${quietEarly ? ` (${quietEarly} before PUT answered)` : ''} | ` +
        `${(sent / elapsed).toFixed(0)} | ${ms(percentile(busy, 0.5))} | ${ms(percentile(busy, 0.99))} | ${sent * members - busy.length} | ` +
        `${((rssAfter - rssBefore) / users.length / 1024).toFixed(1)} KiB${allWaiting ? '' : ' (not all waiting)'} | ${cpuPerDelivery.toFixed(0)} µs`,
    );
    for (const follower of followers) follower.stop();
  } finally {
    await server.stop();
  }
}

async function initialSync(rooms: number, events: number): Promise<void> {
  const server = await ServerProcess.start();
  try {
    const { baseUrl, users } = await server.call<{ baseUrl: string; users: BenchUser[] }>({ op: 'history', rooms, events });
    const [user] = users;
    for (const [name, filter] of [
      ['default filter', undefined],
      ['lazy-loading members', JSON.stringify(FILTER)],
    ] as const) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const body = await request(baseUrl, 'GET', `/_matrix/client/v3/sync${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`, user.token);
        times.push(performance.now() - t0);
        bytes = JSON.stringify(body).length;
        if (Object.keys(body.rooms.join).length !== rooms) throw new Error('initial sync is missing rooms');
      }
      console.log(`initial sync, ${rooms} rooms x ${events} events, ${name} | ${ms(median(times))} ms | ${ms(Math.min(...times))} ms | ${mib(bytes)}`);
    }
  } finally {
    await server.stop();
  }
}

export async function main(): Promise<void> {
  const backend = process.env.WEFT_TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';
  console.log(`Weft sync bench on ${backend}: ${CLIENTS} clients, server in its own process; latencies in ms from PUT /send answering`);
  console.log(
    'transport | rooms x members | one at a time p50 | p99 | deliveries | sustained msg/s | p50 | p99 | undelivered | server RSS per waiting client | server CPU per delivery',
  );
  // BENCH_SYNC_ONLY=long-poll:100 runs one case.
  const only = process.env.BENCH_SYNC_ONLY;
  for (const transport of ['long-poll', 'WebSocket'] as const) {
    for (const members of [10, 100, 1000]) {
      if (members > CLIENTS || (only && only !== `${transport}:${members}`)) continue;
      await fanOut(transport, CLIENTS / members, members);
    }
  }
  if (only) return;
  console.log('\ncase | median | best | response size');
  await initialSync(200, 50);
  agent.destroy();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

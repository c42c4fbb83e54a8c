/**
 * The server side of bench/sync.ts, in a process of its own so that the
 * thousand clients of the benchmark do not share its event loop. Driven over
 * IPC: it sets up users and rooms through the services (fast, and not what is
 * measured), and reports its memory and how many requests are waiting.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { Requester } from '../server/http/route';
import { createUser, startServer, type TestServer } from '../test/helpers/server';

export type Command =
  | { op: 'rooms'; rooms: number; members: number }
  | { op: 'history'; rooms: number; events: number }
  | { op: 'rss' }
  | { op: 'waiters' }
  | { op: 'queries' }
  | { op: 'profile'; file?: string }
  | { op: 'cpu' }
  | { op: 'stop' };

export interface BenchUser {
  userId: string;
  token: string;
  /** The room the user is in (rooms setup). */
  roomId: string;
}

let server: TestServer;
/** Queries run since the last 'queries' command, by SQL: how many, and how long they took in all (ms). */
const queries: Record<string, [number, number]> = {};
const started = new Map<string, number>();

const requester = (userId: string, deviceId: string): Requester => ({ userId, deviceId, isGuest: false, isAdmin: false, accessTokenId: 0 });

/** `rooms` rooms of `members` users each; every user is in exactly one room. */
async function setupRooms(rooms: number, members: number): Promise<{ baseUrl: string; users: BenchUser[] }> {
  const { services } = server.hs;
  const users: BenchUser[] = [];
  for (let r = 0; r < rooms; r++) {
    let roomId = '';
    for (let m = 0; m < members; m++) {
      const user = await createUser(server, `r${r}m${m}`);
      const as = requester(user.userId, user.deviceId);
      if (m === 0) roomId = await services.rooms.create(as, { preset: 'public_chat' });
      else await services.rooms.join(as, roomId);
      users.push({ userId: user.userId, token: user.accessToken, roomId });
    }
  }
  return { baseUrl: server.baseUrl, users };
}

/** One user in `rooms` rooms, each with `events` messages. */
async function setupHistory(rooms: number, events: number): Promise<{ baseUrl: string; users: BenchUser[] }> {
  const { services } = server.hs;
  const user = await createUser(server, 'reader');
  const as = requester(user.userId, user.deviceId);
  let roomId = '';
  for (let r = 0; r < rooms; r++) {
    roomId = await services.rooms.create(as, { preset: 'private_chat', name: `room ${r}` });
    for (let e = 0; e < events; e++) await services.rooms.send(as, { roomId, type: 'm.room.message', content: { msgtype: 'm.text', body: `message ${e} in room ${r}` } });
  }
  return { baseUrl: server.baseUrl, users: [{ userId: user.userId, token: user.accessToken, roomId }] };
}

async function handle(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'rooms':
      return setupRooms(command.rooms, command.members);
    case 'history':
      return setupHistory(command.rooms, command.events);
    case 'rss':
      global.gc?.();
      return process.memoryUsage().rss;
    case 'waiters':
      return server.hs.services.notifier.waiters;
    case 'queries': {
      const counted = Object.entries(queries).sort((a, b) => b[1][1] - a[1][1]).slice(0, 25);
      for (const key of Object.keys(queries)) delete queries[key];
      return counted;
    }
    case 'cpu': {
      const { user, system } = process.cpuUsage();
      return user + system;
    }
    case 'profile':
      return profile(command.file);
    case 'stop':
      await server.stop();
      setImmediate(() => process.exit(0));
      return null;
  }
}

const session = new Session();
const post = (method: string, params?: object) =>
  new Promise<any>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

/** Starts the CPU profiler, or stops it and writes the profile to `file`. */
async function profile(file?: string): Promise<null> {
  if (file === undefined) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
  } else {
    writeFileSync(file, JSON.stringify((await post('Profiler.stop')).profile));
    session.disconnect();
  }
  return null;
}

async function main(): Promise<void> {
  server = await startServer({ rate_limits: { enabled: false } });
  const db = server.hs.services.stores.db;
  db.on('query', (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
  db.on('query-response', (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
    const entry = (queries[q.sql] ??= [0, 0]);
    entry[0]++;
    entry[1] += performance.now() - (started.get(q.__knexQueryUid) ?? performance.now());
    started.delete(q.__knexQueryUid);
  });
  process.on('message', (command: Command & { id: number }) => {
    handle(command).then(
      (result) => process.send!({ id: command.id, result }),
      (err: Error) => process.send!({ id: command.id, error: err.stack ?? String(err) }),
    );
  });
  process.send!({ ready: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

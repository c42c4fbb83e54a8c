/**
 * Sending into rooms over HTTP: 50 concurrent senders into one room (one room
 * lock, serialised), and 50 senders each into their own room (parallel on
 * PostgreSQL). Each event costs a content hash, a signature, an auth check
 * against a handful of indexed state rows, and one transaction.
 *
 *   npm run build && node --expose-gc dist/bench/rooms.js
 */
import { Pool } from 'undici';
import { createUser, startServer, type TestUser } from '../test/helpers/server';
import { load, mib, row } from './lib';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const SENDERS = 50;

export async function main(): Promise<void> {
  const backend = process.env.WEFT_TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';
  const server = await startServer({ rate_limits: { enabled: false } });
  const pool = new Pool(server.baseUrl, { connections: SENDERS, pipelining: 1 });
  const call = async (method: 'POST' | 'PUT', path: string, user: TestUser, body: unknown) => {
    const res = await pool.request({ method, path, headers: { Authorization: `Bearer ${user.accessToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.body.json()) as Record<string, string>;
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };

  const users: TestUser[] = [];
  for (let i = 0; i < SENDERS; i++) users.push(await createUser(server, `sender${i}`));
  const shared = (await call('POST', '/_matrix/client/v3/createRoom', users[0], { preset: 'public_chat' })).room_id;
  const own: string[] = [];
  for (const user of users) {
    if (user !== users[0]) await call('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(shared)}/join`, user, {});
    own.push((await call('POST', '/_matrix/client/v3/createRoom', user, {})).room_id);
  }

  let txn = 0;
  const sendTo = (roomOf: (worker: number) => string) => (_i: number, worker: number) => ({
    method: 'PUT' as const,
    path: `/_matrix/client/v3/rooms/${encodeURIComponent(roomOf(worker))}/send/m.room.message/b${++txn}`,
    headers: { Authorization: `Bearer ${users[worker].accessToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ msgtype: 'm.text', body: `message ${txn}` }),
  });

  console.log(`Weft room bench on ${backend}: ${SENDERS} senders, ${EVENTS} events per round, ${ROUNDS} rounds, medians`);
  console.log('case | events/s | p50 ms | p99 ms');
  for (const [name, roomOf] of [
    ['one room, 50 senders', () => shared],
    ['50 rooms, one sender each', (w: number) => own[w]],
  ] as const) {
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await load(pool, EVENTS, SENDERS, sendTo(roomOf)));
    console.log(row(name, rounds));
  }
  global.gc?.();
  console.log(`RSS after ${ROUNDS * 2 * EVENTS} events: ${mib(process.memoryUsage().rss)} (server and load generator in one process)`);
  await pool.close();
  await server.stop();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

/**
 * Foundation benchmarks: how fast the request path is for the calls every client
 * makes, and how much memory an idle and a loaded server holds. Bounded: a fixed
 * number of requests per round, several rounds, medians reported.
 *
 *   npm run bench                       # SQLite
 *   WEFT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test npm run bench
 */
import { Pool } from 'undici';
import { load, mib, row, type HttpRequest } from './lib';
import { createUser, freshDatabase, startServer, type TestServer } from '../test/helpers/server';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

interface Case {
  name: string;
  requests: number;
  request: () => HttpRequest;
}

export async function main(): Promise<void> {
  const backend = process.env.WEFT_TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';
  global.gc?.();
  const baseRss = process.memoryUsage().rss;
  const server: TestServer = await startServer({ auth: { password_hash_cost: 15 } }, freshDatabase());
  global.gc?.();
  const idleRss = process.memoryUsage().rss;
  const alice = await createUser(server, 'alice', { password: 'bench password' });
  const pool = new Pool(server.baseUrl, { connections: CONCURRENCY, pipelining: 1 });
  const auth = { Authorization: `Bearer ${alice.accessToken}` };
  const json = { 'Content-Type': 'application/json' };

  const cases: Case[] = [
    { name: 'GET /versions', requests: REQUESTS, request: () => ({ method: 'GET', path: '/_matrix/client/versions' }) },
    { name: 'GET /account/whoami (token auth)', requests: REQUESTS, request: () => ({ method: 'GET', path: '/_matrix/client/v3/account/whoami', headers: auth }) },
    {
      name: 'POST /login (scrypt N=2^15)',
      requests: Math.max(20, REQUESTS / 50),
      request: () => ({
        method: 'POST',
        path: '/_matrix/client/v3/login',
        headers: json,
        body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'bench password', device_id: 'BENCH' }),
      }),
    },
  ];

  console.log(`Weft foundation bench on ${backend}: ${ROUNDS} rounds, concurrency ${CONCURRENCY}, medians`);
  console.log('case | req/s | p50 ms | p99 ms');
  for (const c of cases) {
    await load(pool, Math.min(c.requests, 100), CONCURRENCY, c.request); // warm-up
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await load(pool, c.requests, CONCURRENCY, c.request));
    console.log(row(c.name, rounds));
  }
  global.gc?.();
  const loadedRss = process.memoryUsage().rss;
  console.log(`RSS: process before server ${mib(baseRss)}, idle server ${mib(idleRss)}, after load ${mib(loadedRss)} (server and load generator share one process)`);
  await pool.close();
  await server.stop();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

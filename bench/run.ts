/**
 * Foundation benchmarks: how fast the request path is for the calls every client
 * makes, and how much memory an idle and a loaded server holds. Bounded: a fixed
 * number of requests per round, several rounds, medians reported.
 *
 *   npm run bench                       # SQLite
 *   WEFT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test npm run bench
 */
import { Pool } from 'undici';
import { createUser, freshDatabase, startServer, type TestServer } from '../test/helpers/server';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

interface Case {
  name: string;
  requests: number;
  request(i: number): { method: 'GET' | 'POST' | 'PUT'; path: string; body?: string; headers?: Record<string, string> };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function runRound(pool: Pool, c: Case): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < c.requests) {
      const i = next++;
      const t0 = performance.now();
      const res = await pool.request(c.request(i));
      await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${c.name}: HTTP ${res.statusCode}`);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { rps: c.requests / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
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
    await runRound(pool, { ...c, requests: Math.min(c.requests, 100) }); // warm-up
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await runRound(pool, c));
    console.log(
      `${c.name} | ${median(rounds.map((x) => x.rps)).toFixed(0)} | ${median(rounds.map((x) => x.p50)).toFixed(2)} | ${median(rounds.map((x) => x.p99)).toFixed(2)}`,
    );
  }
  global.gc?.();
  const loadedRss = process.memoryUsage().rss;
  console.log(`RSS: process before server ${mib(baseRss)} MiB, idle server ${mib(idleRss)} MiB, after load ${mib(loadedRss)} MiB (server and load generator share one process)`);
  await pool.close();
  await server.stop();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

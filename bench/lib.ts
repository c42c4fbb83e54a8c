/** What every benchmark shares: medians, percentiles, sizes, and driving HTTP load with a fixed request count. */
import type { Pool } from 'undici';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const percentile = (xs: readonly number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface Round {
  rps: number;
  p50: number;
  p99: number;
}

/** Sends `count` requests from `concurrency` workers; request(i, worker) builds the i-th. Fails on any non-2xx. */
export async function load(pool: Pool, count: number, concurrency: number, request: (i: number, worker: number) => HttpRequest): Promise<Round> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      const res = await pool.request(request(i, w));
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { rps: count / ((performance.now() - started) / 1000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** The medians of several rounds, as one table row. */
export function row(name: string, rounds: readonly Round[]): string {
  const m = (f: (r: Round) => number) => median(rounds.map(f));
  return `${name} | ${m((r) => r.rps).toFixed(0)} | ${m((r) => r.p50).toFixed(2)} | ${m((r) => r.p99).toFixed(2)}`;
}

/**
 * A room with BENCH_DEEP_EVENTS events (default 100,000), sent through the room
 * engine in process: the cost of reading a 100-event /messages page from the
 * middle of its history over HTTP, and the server's RSS once the room is loaded.
 *
 *   npm run build && node --expose-gc dist/bench/deep-room.js
 */
import { createUser, startServer } from '../test/helpers/server';
import { median, mib, percentile } from './lib';

const EVENTS = Number(process.env.BENCH_DEEP_EVENTS ?? 100_000);
const PAGES = 30;

export async function main(): Promise<void> {
  const backend = process.env.WEFT_TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';
  const server = await startServer({ rate_limits: { enabled: false } });
  const alice = await createUser(server, 'alice');
  const requester = { userId: alice.userId, deviceId: alice.deviceId, isGuest: false, isAdmin: false, accessTokenId: 0 };
  const { rooms } = server.hs.services;
  const roomId = await rooms.create(requester, { preset: 'public_chat' });

  const started = performance.now();
  const middle: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const id = await rooms.send(requester, { roomId, type: 'm.room.message', content: { msgtype: 'm.text', body: `message ${i}` } });
    if (Math.abs(i - EVENTS / 2) < PAGES) middle.push(id);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  global.gc?.();
  console.log(`Weft deep-room bench on ${backend}: ${EVENTS} events loaded in process at ${(EVENTS / loadSeconds).toFixed(0)} events/s; RSS ${mib(process.memoryUsage().rss)}`);

  const latencies: number[] = [];
  for (const eventId of middle.slice(0, PAGES)) {
    // A token in the middle of the room, from /context, then a 100-event page backwards from it.
    const context = await server.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/context/${encodeURIComponent(eventId)}?limit=0`, { token: alice.accessToken });
    const t0 = performance.now();
    const page = await server.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100&from=${encodeURIComponent(context.body.start)}`, { token: alice.accessToken });
    latencies.push(performance.now() - t0);
    if (page.status !== 200 || page.body.chunk.length !== 100) throw new Error(`/messages: ${page.status} ${JSON.stringify(page.body).slice(0, 200)}`);
  }
  console.log(`/messages, 100 events from the middle: median ${median(latencies).toFixed(1)} ms, p90 ${percentile(latencies, 0.9).toFixed(1)} ms over ${latencies.length} pages`);
  global.gc?.();
  console.log(`RSS after paging: ${mib(process.memoryUsage().rss)}`);
  await server.stop();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

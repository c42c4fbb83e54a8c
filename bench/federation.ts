/**
 * Inbound federation: PDUs/s that one peer pushes through PUT /send (50 PDUs
 * a transaction, one transaction at a time, as a sender's queue does), against
 * the ceiling ed25519 verification sets on this machine. Two real servers on
 * loopback TLS: B's user has joined A's room; B's messages are built and signed
 * beforehand, each on the previous one, so only A's work is timed.
 *
 *   npm run build && node --expose-gc dist/bench/federation.js
 * Then: the time for B's user to join a room on A whose state holds
 * BENCH_FEDERATION_MEMBERS (2,000) members, from POST /join to the answer
 * (make_join, send_join with the whole state, checking and storing it).
 *
 *   BENCH_FEDERATION_PDUS=2000 (default); BENCH_FEDERATION_QUERIES=1 lists A's queries per PDU
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import type { RoomEvent } from '../spec/pdu';
import type { EventDraft } from '../server/rooms/event-builder';
import { buildOnResident, startFederation, stopAll, type FederatedServer } from '../test/helpers/federation-network';
import { createUser } from '../test/helpers/server';
import { median } from './lib';

const PDUS = Number(process.env.BENCH_FEDERATION_PDUS ?? 2000);
const MEMBERS = Number(process.env.BENCH_FEDERATION_MEMBERS ?? 2000);
const PER_TRANSACTION = 50;
const ROUNDS = 3;

/** ed25519 verifications per second with node:crypto: the ceiling for checking one signature per PDU. */
function verificationsPerSecond(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const message = Buffer.alloc(600, 7);
  const signature = sign(null, message, privateKey);
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) verify(null, message, publicKey, signature);
  return n / ((performance.now() - t0) / 1000);
}

/** The queries A runs from now on, by SQL: how many, and how long they took in all (ms). */
function countQueries(server: FederatedServer): Map<string, [number, number]> {
  const counted = new Map<string, [number, number]>();
  const started = new Map<string, number>();
  const db = server.hs.services.stores.db;
  db.on('query', (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()));
  db.on('query-response', (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
    const entry = counted.get(q.sql) ?? [0, 0];
    entry[0]++;
    entry[1] += performance.now() - (started.get(q.__knexQueryUid) ?? performance.now());
    counted.set(q.sql, entry);
    started.delete(q.__knexQueryUid);
  });
  return counted;
}

export async function main(): Promise<void> {
  const backend = process.env.WEFT_TEST_POSTGRES_URL ? 'PostgreSQL' : 'SQLite';
  const ceiling = verificationsPerSecond();
  console.log(`Weft federation bench on ${backend}: ${PDUS} PDUs through PUT /send, ${PER_TRANSACTION} a transaction`);
  console.log(`ed25519 verifications/s here (node:crypto, one core): ${ceiling.toFixed(0)}`);
  console.log('round | PDUs/s accepted | share of the verification ceiling | ms per transaction (median)');
  const rates: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const servers = await startFederation(2);
    const [a, b] = servers;
    try {
      const alice = await createUser(a, 'alice');
      const created = await a.request('POST', '/_matrix/client/v3/createRoom', { token: alice.accessToken, body: { preset: 'public_chat' } });
      const roomId = created.body.room_id as string;
      const bob = `@bob:${b.name}`;
      const messages = Array.from({ length: PDUS }, (_, i): EventDraft => ({ type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: `message ${i}` } }));
      const events = await buildOnResident(a, roomId, b, [{ type: 'm.room.member', sender: bob, stateKey: bob, content: { membership: 'join' } }, ...messages]);
      const send = (pdus: RoomEvent[], txnId: string) =>
        b.hs.federation.client.put<{ pdus: Record<string, { error?: string }> }>(a.name, `/_matrix/federation/v1/send/${txnId}`, {
          origin: b.name,
          origin_server_ts: Date.now(),
          pdus: pdus.map((e) => e.pdu),
        });
      await send(events.slice(0, 1), `join${round}`); // also fetches B's key: not timed
      const queries = countQueries(a);
      const times: number[] = [];
      const t0 = performance.now();
      for (let i = 1; i < events.length; i += PER_TRANSACTION) {
        const t = performance.now();
        const answer = await send(events.slice(i, i + PER_TRANSACTION), `r${round}t${i}`);
        times.push(performance.now() - t);
        const failed = Object.values(answer.pdus).filter((r) => r.error);
        if (failed.length > 0) throw new Error(`PDUs refused: ${JSON.stringify(failed.slice(0, 3))}`);
      }
      const rate = PDUS / ((performance.now() - t0) / 1000);
      rates.push(rate);
      if (process.env.BENCH_FEDERATION_QUERIES && round === 1) {
        for (const [sql, [n, ms]] of [...queries].sort((x, y) => y[1][1] - x[1][1]).slice(0, 25)) {
          console.log(`  ${(n / PDUS).toFixed(2)} per PDU, ${(ms / n).toFixed(3)} ms each: ${sql.replace(/\s+/g, ' ').slice(0, 140)}`);
        }
      }
      console.log(`${round} | ${rate.toFixed(0)} | ${((100 * rate) / ceiling).toFixed(1)}% | ${median(times).toFixed(1)}`);
    } finally {
      await stopAll(servers);
    }
  }
  console.log(`median | ${median(rates).toFixed(0)} PDUs/s | ${((100 * median(rates)) / ceiling).toFixed(1)}% of the ceiling`);
  await joinLargeRoom();
}

/** B's user joins a room on A with MEMBERS members, once per round; the room is filled through A's services, not timed. */
async function joinLargeRoom(): Promise<void> {
  console.log(`\njoining a remote room of ${MEMBERS} members | ms from POST /join to its answer | state events B stored`);
  const times: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const servers = await startFederation(2);
    const [a, b] = servers;
    try {
      const owner = await createUser(a, 'owner');
      const as = (userId: string) => ({ userId, deviceId: 'BENCH', isGuest: false, isAdmin: false, accessTokenId: 0 });
      const roomId = await a.hs.services.rooms.create(as(owner.userId), { preset: 'public_chat', room_alias_name: 'big' });
      for (let i = 1; i < MEMBERS; i++) {
        const userId = await a.hs.services.accounts.create({ localpart: `m${i}`, password: 'benchmark-password' });
        await a.hs.services.rooms.join(as(userId), roomId);
      }
      const bob = await createUser(b, 'bob');
      const t0 = performance.now();
      const res = await b.request('POST', `/_matrix/client/v3/join/${encodeURIComponent(`#big:${a.name}`)}`, { token: bob.accessToken, body: {} });
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`join: ${res.status} ${JSON.stringify(res.body)}`);
      times.push(ms);
      const state = await b.hs.services.stores.roomState.currentState(roomId);
      console.log(`${round} | ${ms.toFixed(0)} | ${state.size}`);
    } finally {
      await stopAll(servers);
    }
  }
  console.log(`median | ${median(times).toFixed(0)} ms`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

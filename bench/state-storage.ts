/**
 * The event store under one busy room: persist BENCH_EVENTS events (default
 * 100,000; 1% state changes, mostly joins, some profile changes), each in its own
 * room-locked transaction as the room engine will, keeping the current state up
 * to date. Reports events/s, database size (SQLite), and the latency of the
 * state before a deep event, cold (no cache) and warm, as medians.
 *
 *   npm run build && node dist/bench/state-storage.js
 *   WEFT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node dist/bench/state-storage.js
 */
import { statSync } from 'node:fs';
import { stateTuple, type RoomEvent } from '../spec/pdu';
import { createStores } from '../storage';
import { migrate, openDb, type Db } from '../storage/db';
import { RoomStateStore } from '../storage/room-state';
import { StateGroupStore } from '../storage/state-groups';
import { isPostgresDb } from '../storage/transactions';
import { pdu, statePdu } from '../test/helpers/pdus';
import { freshDatabase } from '../test/helpers/server';
import { median, mib } from './lib';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
/** Events per transaction: 1 is the room engine sending one event at a time; more is a federation batch. */
const BATCH = Number(process.env.BENCH_BATCH ?? 1);
const STATE_EVERY = 100;
const READS = 50;


async function sqliteSizes(db: Db, file: string): Promise<string> {
  await db.raw('pragma wal_checkpoint(TRUNCATE)');
  const lines = [`file ${mib(statSync(file).size)}`];
  try {
    const rows: { name: string; bytes: number }[] = await db.raw('select name, sum(pgsize) as bytes from dbstat group by name order by bytes desc');
    for (const r of rows.slice(0, 12)) lines.push(`  ${r.name}: ${mib(r.bytes)} (${(r.bytes / EVENTS).toFixed(0)} B/event)`);
  } catch {
    // dbstat is optional in SQLite builds.
  }
  return lines.join('\n');
}

export async function main(): Promise<void> {
  const database = freshDatabase();
  const db = await openDb({ url: database.url });
  await migrate(db);
  const stores = createStores(db);
  const room = '!bench:localhost';
  const backend = isPostgresDb(db) ? 'PostgreSQL' : 'SQLite';
  console.log(`Weft state storage bench on ${backend}: ${EVENTS} events in one room, 1 in ${STATE_EVERY} a state change, ${BATCH} per transaction`);

  const create = statePdu(room, 'm.room.create', '');
  let tip: RoomEvent = create;
  let group = await stores.rooms.withLock(room, async (trx) => {
    await stores.rooms.create(room, '10', trx);
    const { stateGroupAfter } = await stores.events.persist(trx, { event: create, roomId: room, status: 'accepted', stateGroupBefore: null });
    await stores.roomState.setCurrentState(trx, room, stateGroupAfter!);
    return stateGroupAfter!;
  });

  let members = 0;
  const nextEvent = (i: number): RoomEvent => {
    if (i % STATE_EVERY !== 0) return pdu(room, { prev: [tip], sender: `@user${i % Math.max(1, members)}:localhost` });
    // Four joins in five; otherwise an existing member changes their profile.
    const user = i % (5 * STATE_EVERY) === 0 && members > 0 ? Math.floor(Math.random() * members) : members++;
    return statePdu(room, 'm.room.member', `@user${user}:localhost`, { prev: [tip], content: { membership: 'join', displayname: `user ${user} (${i})` } });
  };
  const started = performance.now();
  for (let i = 1; i < EVENTS; i += BATCH) {
    group = await stores.rooms.withLock(room, async (trx) => {
      let current = group;
      for (let j = i; j < Math.min(i + BATCH, EVENTS); j++) {
        const event = nextEvent(j);
        const { stateGroupAfter } = await stores.events.persist(trx, { event, roomId: room, status: 'accepted', stateGroupBefore: current });
        if (stateGroupAfter !== current) await stores.roomState.setCurrentState(trx, room, stateGroupAfter!);
        current = stateGroupAfter!;
        tip = event;
      }
      return current;
    });
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`persist: ${(EVENTS / seconds).toFixed(0)} events/s (${seconds.toFixed(1)} s), ${members} members`);

  const groups = Number((await db('state_groups').count({ n: '*' }).first())!.n);
  const entries = (await db('state_groups').select('entries')).reduce((n, r) => n + JSON.parse(r.entries).length, 0);
  console.log(`state groups: ${groups} for ${Math.floor(EVENTS / STATE_EVERY)} state changes, ${entries} entries stored (${(entries / groups).toFixed(1)} per change)`);
  const cost = await stores.stateGroups.readCost(group);
  console.log(`deepest read: ${cost.rows} rows, ${cost.snapshotEntries} snapshot + ${cost.deltaEntries} delta entries for a state of ${cost.size}`);
  if (!isPostgresDb(db)) console.log(await sqliteSizes(db, database.url.replace(/^sqlite:/, '')));

  const current = await stores.roomState.currentState(room);
  const expected = await stores.stateGroups.read(group);
  if (current.size !== expected.size || current.get(stateTuple('m.room.create', '')) !== create.id) throw new Error('current state does not match the last state group');

  const timings = { cold: [] as number[], warm: [] as number[] };
  for (let i = 0; i < READS; i++) {
    const cold = new RoomStateStore(db, stores.rooms, new StateGroupStore(db, stores.rooms, { cacheEntries: 0 }));
    let t0 = performance.now();
    await cold.stateBefore(tip.id);
    timings.cold.push(performance.now() - t0);
    t0 = performance.now();
    await stores.roomState.stateBefore(tip.id);
    timings.warm.push(performance.now() - t0);
  }
  console.log(`stateBefore(deepest event), median of ${READS}: cold ${median(timings.cold).toFixed(2)} ms, warm ${median(timings.warm).toFixed(2)} ms`);
  console.log(`rss ${mib(process.memoryUsage().rss)}`);

  await db.destroy();
  await database.drop();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

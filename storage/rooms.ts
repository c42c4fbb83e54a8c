/**
 * Rooms: their version and number, and the per-room write lock every change to a
 * room's events or state is made under.
 */
import type { Db } from './db';
import { isPostgresDb, whenSettled } from './transactions';

export interface RoomRow {
  roomId: string;
  version: string;
}

interface Known extends RoomRow {
  nid: number;
}

export class UnknownRoomError extends Error {}

/** pg_advisory_xact_lock(class, key): the class keeps room locks apart from any other advisory lock. */
const ROOM_LOCK_CLASS = 0x5746_0001;

/** Runs tasks one at a time per key, in arrival order; tasks under different keys run concurrently. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

export class RoomStore {
  /** Room ID → number and version: both fixed once the room exists, so safe to keep. */
  private readonly known = new Map<string, Known>();
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async create(roomId: string, version: string, trx: Db = this.db): Promise<void> {
    await trx('rooms').insert({ room_id: roomId, room_version: version, created_ts: this.now() });
  }

  async get(roomId: string, trx: Db = this.db): Promise<RoomRow | undefined> {
    const room = await this.lookup(roomId, trx);
    return room && { roomId: room.roomId, version: room.version };
  }

  /** The room's number, for the other room stores; throws UnknownRoomError. */
  async nid(roomId: string, trx: Db = this.db): Promise<number> {
    return (await this.ref(roomId, trx)).nid;
  }

  /** The room's number and version; throws UnknownRoomError. */
  async ref(roomId: string, trx: Db = this.db): Promise<{ nid: number; version: string }> {
    const room = await this.lookup(roomId, trx);
    if (!room) throw new UnknownRoomError(`unknown room ${roomId}`);
    return room;
  }

  /**
   * Runs `fn` in a transaction that holds the room's write lock: writers to one
   * room take turns, writers to different rooms proceed in parallel. In this
   * process, waiters queue before taking a connection (so a busy room cannot
   * occupy the pool); on PostgreSQL the transaction also takes an advisory lock
   * on the room, which serialises writers in other processes too. SQLite has a
   * single writer connection, so its transactions are serial anyway: keep `fn` short.
   * Not re-entrant: inside `fn`, use `trx` and never take the same room's lock again.
   */
  withLock<T>(roomId: string, fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.mutex.run(roomId, () =>
      this.db.transaction(async (trx) => {
        if (isPostgresDb(trx)) await trx.raw('select pg_advisory_xact_lock(?, hashtext(?))', [ROOM_LOCK_CLASS, roomId]);
        return fn(trx);
      }),
    );
  }

  private async lookup(roomId: string, trx: Db): Promise<Known | undefined> {
    const cached = this.known.get(roomId);
    if (cached) return cached;
    const row = await trx('rooms').where({ room_id: roomId }).first('nid', 'room_version');
    if (!row) return undefined;
    const room = { roomId, version: row.room_version as string, nid: Number(row.nid) };
    whenSettled(trx, () => this.known.set(roomId, room));
    return room;
  }
}

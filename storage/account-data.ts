/**
 * Per-user account data, global (room '' in the table) or for one room. Every
 * write gives the entry a new, higher stream position, so a reader can ask for
 * everything that changed after the position it last saw.
 */
import type { Db } from './db';
import { StreamPositions } from './stream-positions';
import { whenSettled } from './transactions';

export interface AccountDataEntry {
  streamId: number;
  /** null for global account data. */
  roomId: string | null;
  type: string;
  content: Record<string, unknown>;
}

interface Raw {
  stream_id: number;
  room_id: string;
  type: string;
  content_json: string;
}

const GLOBAL = '';
/** Entries whose last read is kept. */
const CACHED_ENTRIES = 20_000;

const fromRaw = (r: Raw): AccountDataEntry => ({
  streamId: Number(r.stream_id),
  roomId: r.room_id === GLOBAL ? null : r.room_id,
  type: r.type,
  content: JSON.parse(r.content_json),
});

export class AccountDataStore {
  /**
   * Entries as last read, with the stream position they were read at. A read is
   * reused while the position has not moved: no entry of anyone has been written
   * since, so sync's per-request reads (the ignored-user list) cost nothing.
   */
  private readonly reads = new Map<string, { position: number; content: Record<string, unknown> | undefined }>();
  /** Positions in this stream that readers may rely on (`latest()`), and when a write may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.positions = new StreamPositions(db, 'account_data', 'stream_id');
  }

  async get(userId: string, roomId: string | null, type: string): Promise<Record<string, unknown> | undefined> {
    const key = readKey(userId, roomId, type);
    const position = await this.positions.latest();
    const kept = this.reads.get(key);
    if (kept?.position === position) return kept.content;
    const row = await this.db('account_data')
      .where({ user_id: userId, room_id: roomId ?? GLOBAL, type })
      .first('content_json');
    const content = row === undefined ? undefined : JSON.parse(row.content_json);
    this.reads.delete(key);
    this.reads.set(key, { position, content });
    if (this.reads.size > CACHED_ENTRIES) this.reads.delete(this.reads.keys().next().value!);
    return content;
  }

  /** Sets (or replaces) one entry; returns its new stream position. */
  async put(userId: string, roomId: string | null, type: string, content: Record<string, unknown>, trx: Db = this.db): Promise<number> {
    const row = { user_id: userId, room_id: roomId ?? GLOBAL, type, content_json: JSON.stringify(content), updated_ts: this.now() };
    return this.positions.track(
      trx,
      async () => {
        // On conflict the row takes the stream_id freshly allocated for the insert that did not happen.
        const [inserted] = await trx('account_data')
          .insert(row)
          .onConflict(['user_id', 'room_id', 'type'])
          .merge({ content_json: row.content_json, updated_ts: row.updated_ts, stream_id: trx.raw('excluded.stream_id') })
          .returning('stream_id');
        return Number(inserted.stream_id);
      },
      (position) => position,
    );
  }

  /** Erases all of a user's account data (deactivation). */
  async deleteAll(userId: string, trx: Db = this.db): Promise<void> {
    await trx('account_data').where({ user_id: userId }).delete();
    whenSettled(trx, () => {
      for (const key of this.reads.keys()) if (key.startsWith(`${userId}\u0000`)) this.reads.delete(key);
    });
  }

  /** The user's entries written after `after` (and at or before `upTo`, if given), oldest first. */
  async changesSince(userId: string, after: number, upTo?: number): Promise<AccountDataEntry[]> {
    const query = this.db('account_data')
      .where({ user_id: userId })
      .andWhere('stream_id', '>', after)
      .orderBy('stream_id')
      .select('stream_id', 'room_id', 'type', 'content_json');
    if (upTo !== undefined) query.andWhere('stream_id', '<=', upTo);
    return ((await query) as Raw[]).map(fromRaw);
  }

  /** The user's global entries, or those of the given rooms. */
  async all(userId: string, scope: { global: true } | { rooms: readonly string[] }): Promise<AccountDataEntry[]> {
    const query = this.db('account_data').where({ user_id: userId }).orderBy('stream_id').select('stream_id', 'room_id', 'type', 'content_json');
    if ('global' in scope) query.andWhere('room_id', GLOBAL);
    else if (scope.rooms.length === 0) return [];
    else query.whereIn('room_id', scope.rooms);
    return (await query).map(fromRaw);
  }


}

const readKey = (userId: string, roomId: string | null, type: string) => `${userId}\u0000${roomId ?? GLOBAL}\u0000${type}`;

/** User-Interactive Authentication sessions: what each has completed, and what it carries. */
import type { Db } from './db';

export interface UiaSessionRow {
  sessionId: string;
  /** The request the session authorises (method, path, user); see server/services/uia.ts. */
  requestKey: string;
  /** Stage types completed so far, in order. */
  completed: string[];
  /** Server-side state of the session (request body, stage results), as JSON. */
  params: Record<string, unknown>;
  createdTs: number;
}

interface Raw {
  session_id: string;
  request_key: string;
  completed_json: string;
  params_json: string;
  created_ts: number | string;
}

const fromRaw = (r: Raw): UiaSessionRow => ({
  sessionId: r.session_id,
  requestKey: r.request_key,
  completed: JSON.parse(r.completed_json),
  params: JSON.parse(r.params_json),
  createdTs: Number(r.created_ts),
});

export class UiaSessionStore {
  constructor(private readonly db: Db) {}

  async insert(row: UiaSessionRow, trx: Db = this.db): Promise<void> {
    await trx('uia_sessions').insert({
      session_id: row.sessionId,
      request_key: row.requestKey,
      completed_json: JSON.stringify(row.completed),
      params_json: JSON.stringify(row.params),
      created_ts: row.createdTs,
    });
  }

  async get(sessionId: string, trx: Db = this.db): Promise<UiaSessionRow | undefined> {
    const row = await trx<Raw>('uia_sessions').where({ session_id: sessionId }).first();
    return row && fromRaw(row);
  }

  /**
   * Replaces a session's completed stages and params. With `expected`, only if the
   * row still holds exactly what was read (so a concurrent request's change is
   * never overwritten); returns whether the row was written.
   */
  async update(
    sessionId: string,
    change: Pick<UiaSessionRow, 'completed' | 'params'>,
    expected?: Pick<UiaSessionRow, 'completed' | 'params'>,
    trx: Db = this.db,
  ): Promise<boolean> {
    const query = trx('uia_sessions').where({ session_id: sessionId });
    if (expected) {
      // Rows are written with JSON.stringify, and parse/stringify round-trips keep key order.
      query.andWhere({ completed_json: JSON.stringify(expected.completed), params_json: JSON.stringify(expected.params) });
    }
    const count = await query.update({ completed_json: JSON.stringify(change.completed), params_json: JSON.stringify(change.params) });
    return count > 0;
  }

  /** Deletes the sessions created before `ts` and returns them. */
  async deleteCreatedBefore(ts: number, trx: Db = this.db): Promise<UiaSessionRow[]> {
    const rows: Raw[] = await trx('uia_sessions').where('created_ts', '<', ts).select();
    if (rows.length > 0) await trx('uia_sessions').whereIn('session_id', rows.map((r) => r.session_id)).delete();
    return rows.map(fromRaw);
  }
}

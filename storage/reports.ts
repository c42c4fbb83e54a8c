/** Content users reported to the server's administrators: events, rooms and users (report_content module). */
import type { Db } from './db';

export interface Report {
  reporter: string;
  /** The room reported, or the room of the event reported. */
  roomId?: string;
  eventId?: string;
  /** The user reported. */
  userId?: string;
  reason?: string;
  score?: number;
}

export interface StoredReport extends Report {
  id: number;
  createdTs: number;
}

export class ReportStore {
  constructor(private readonly db: Db) {}

  async add(report: Report, nowMs: number, db: Db = this.db): Promise<void> {
    await db('reports').insert({
      reporter: report.reporter,
      room_id: report.roomId ?? null,
      event_id: report.eventId ?? null,
      user_id: report.userId ?? null,
      reason: report.reason ?? null,
      score: report.score ?? null,
      created_ts: nowMs,
    });
  }

  /** The most recent reports first. */
  async recent(limit: number, db: Db = this.db): Promise<StoredReport[]> {
    const rows = await db('reports').orderBy('id', 'desc').limit(limit).select('*');
    return rows.map((r) => ({
      id: Number(r.id),
      reporter: r.reporter,
      ...(r.room_id !== null && { roomId: r.room_id }),
      ...(r.event_id !== null && { eventId: r.event_id }),
      ...(r.user_id !== null && { userId: r.user_id }),
      ...(r.reason !== null && { reason: r.reason }),
      ...(r.score !== null && { score: Number(r.score) }),
      createdTs: Number(r.created_ts),
    }));
  }
}

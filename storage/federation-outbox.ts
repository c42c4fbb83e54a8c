/**
 * Outbound federation queues (docs/federation.md, "Outbound queues"): per
 * destination, the PDUs (by event ID) and EDUs (as JSON) still to deliver, in
 * order, those of the transaction being attempted marked with its ID; each
 * destination's backoff; and the room stream position up to which local events have been queued.
 */
import type { RoomEvent } from '../spec/pdu';
import type { Db } from './db';
import type { RoomStore } from './rooms';
import { batches, isPostgresDb, listOf } from './transactions';

/** An ephemeral data unit as transactions carry it (server-server-api.md, "EDUs"). */
export interface Edu {
  edu_type: string;
  content: Record<string, unknown>;
}

/** A timeline event, as the fan-out needs it. */
export interface StreamEvent {
  eventId: string;
  roomId: string;
  streamOrdering: number;
  sender: string;
  /** The state key of an m.room.member event: the user whose membership it sets. */
  memberTarget?: string;
}

/** A membership event in the timeline, and the membership of the user it replaced (null: none). */
export interface MembershipChange {
  roomId: string;
  userId: string;
  streamOrdering: number;
  membership: string;
  prevMembership: string | null;
}

export interface RoomMembership {
  /** Room → server → users of that server joined now. */
  joinedCounts: Map<string, Map<string, number>>;
  /** Oldest first. */
  changes: MembershipChange[];
}

/** A transaction's contents: the rows carrying its ID, oldest first. */
export interface ClaimedBatch {
  txnId: string;
  pdus: { id: number; eventId: string; /** Undefined if the event is no longer stored. */ event: RoomEvent | undefined }[];
  edus: { id: number; edu: Edu }[];
}

/** A transaction the destination accepted. */
export interface Delivered {
  txnId: string;
  nowMs: number;
  /** Also record the success (last_success_ts, and the end of any backoff); needed only now and then. */
  recordSuccess: boolean;
}

export interface Backoff {
  failures: number;
  retryAt: number;
}

interface OutboxRow {
  id: number | string;
  kind: 'pdu' | 'edu';
  event_id: string | null;
  edu_json: string | null;
  /** The PDU's event, joined in. */
  pdu_json: string | null;
}

const ROW_COLUMNS = ['o.id', 'o.kind', 'o.event_id', 'o.edu_json', 'e.pdu_json'];

const FANOUT_ROW = 1;

/**
 * On PostgreSQL, the transaction's commit does not wait for its WAL to reach
 * disk. For the sender's own bookkeeping (queueing from the stream, claiming,
 * acknowledging), whose loss in a crash of the database server (not of Weft)
 * means only a re-queue or a resend: it would otherwise cost some twenty
 * flushes per event for a room on ten servers, and slow every client request.
 */
async function withoutWaitingForFlush(trx: Db): Promise<void> {
  if (isPostgresDb(trx)) await trx.raw('set local synchronous_commit = off');
}

export class FederationOutboxStore {
  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
  ) {}

  /** The room stream position up to which local events have been queued. */
  async fanOutPosition(db: Db = this.db): Promise<number> {
    const row = await db('federation_fanout').where({ id: FANOUT_ROW }).first('stream_ordering');
    return Number(row?.stream_ordering ?? 0);
  }

  /**
   * Timeline events in stream positions (after, upTo] whose sender ends in
   * `:serverName`, oldest first, at most `limit` (a full page may hold more).
   */
  async eventsBySenderServer(after: number, upTo: number, serverName: string, limit: number, db: Db = this.db): Promise<StreamEvent[]> {
    const suffix = `:${serverName}`;
    const rows = await db('events as e')
      .join('rooms as r', 'r.nid', 'e.room_nid')
      .where('e.stream_ordering', '>', after)
      .andWhere('e.stream_ordering', '<=', upTo)
      .andWhereRaw('substr(e.sender, length(e.sender) - ?) = ?', [suffix.length - 1, suffix])
      .orderBy('e.stream_ordering', 'asc')
      .limit(limit)
      .select('e.event_id', 'r.room_id', 'e.stream_ordering', 'e.sender', 'e.type', 'e.state_key');
    return rows.map((r: { event_id: string; room_id: string; stream_ordering: number | string; sender: string; type: string; state_key: string | null }) => ({
      eventId: r.event_id,
      roomId: r.room_id,
      streamOrdering: Number(r.stream_ordering),
      sender: r.sender,
      ...(r.type === 'm.room.member' && r.state_key !== null ? { memberTarget: r.state_key } : {}),
    }));
  }

  /**
   * Who is in each room, as the fan-out needs it to address events: per room,
   * how many users of each server are joined now, and the membership changes
   * since stream position `after` (each with the membership it replaced). One
   * statement, so the two agree.
   */
  async membershipSince(roomIds: readonly string[], after: number, db: Db = this.db): Promise<RoomMembership> {
    const out: RoomMembership = { joinedCounts: new Map(), changes: [] };
    if (roomIds.length === 0) return out;
    const nids = new Map<number, string>();
    for (const roomId of roomIds) nids.set(await this.rooms.nid(roomId, db), roomId);
    const roomNids = listOf(db, [...nids.keys()], 'bigint');
    // The server name of a user ID is everything after its first colon.
    const server = `substr(cs.state_key, ${isPostgresDb(db) ? 'strpos' : 'instr'}(cs.state_key, ':') + 1)`;
    const counts = db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .whereIn('cs.room_nid', roomNids)
      .andWhere({ 'cs.type': 'm.room.member', 'e.membership': 'join' })
      .groupBy('cs.room_nid', db.raw(server))
      .select(db.raw("'count' as kind"), 'cs.room_nid', db.raw(`${server} as subject`), db.raw('count(*) as n'), db.raw('null as membership'), db.raw('null as prev_membership'));
    const changes = db('events as e')
      .leftJoin('events as p', 'p.event_id', 'e.prev_state')
      .whereIn('e.room_nid', roomNids)
      .andWhere('e.stream_ordering', '>', after)
      .whereNotNull('e.membership')
      .select(db.raw("'change' as kind"), 'e.room_nid', 'e.state_key as subject', 'e.stream_ordering as n', 'e.membership', 'p.membership as prev_membership');
    // Wrapped: knex would put the counts' GROUP BY after the UNION.
    const rows = await db.select('*').from(counts.as('counts')).unionAll(changes);
    for (const r of rows as { kind: string; room_nid: number | string; subject: string; n: number | string; membership: string | null; prev_membership: string | null }[]) {
      const roomId = nids.get(Number(r.room_nid))!;
      if (r.kind === 'count') {
        let perServer = out.joinedCounts.get(roomId);
        if (!perServer) out.joinedCounts.set(roomId, (perServer = new Map()));
        perServer.set(r.subject, Number(r.n));
      } else {
        out.changes.push({ roomId, userId: r.subject, streamOrdering: Number(r.n), membership: r.membership!, prevMembership: r.prev_membership });
      }
    }
    out.changes.sort((a, b) => a.streamOrdering - b.streamOrdering);
    return out;
  }

  /**
   * Queues PDUs and moves the fan-out position from `from` to `to`, in one
   * transaction. Resolves false (queuing nothing) if the position was not `from`.
   */
  async queuePdus(rows: readonly { destination: string; eventId: string }[], from: number, to: number): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      await withoutWaitingForFlush(trx);
      const moved = await trx('federation_fanout').where({ id: FANOUT_ROW, stream_ordering: from }).update({ stream_ordering: to });
      if (moved !== 1) return false;
      const values = rows.map((r) => ({ destination: r.destination, kind: 'pdu', event_id: r.eventId }));
      for (const batch of batches(values, 500)) await trx('federation_outbox').insert(batch);
      return true;
    });
  }

  /**
   * Queues one PDU for each destination outside the fan-out: an event of
   * another server's user that a handshake through us accepted (send_join,
   * send_leave, send_knock), which the spec asks us to pass on.
   */
  async queuePdu(destinations: readonly string[], eventId: string): Promise<void> {
    const values = destinations.map((destination) => ({ destination, kind: 'pdu', event_id: eventId }));
    for (const batch of batches(values, 500)) await this.db('federation_outbox').insert(batch);
  }

  /**
   * Queues an EDU for each destination. With a coalescing key, it replaces the
   * destination's unsent EDUs with the same key (those already in a transaction
   * being attempted stay: that transaction must be resent as it was).
   */
  async queueEdu(destinations: readonly string[], edu: Edu, coalesceKey?: string): Promise<void> {
    if (destinations.length === 0) return;
    const json = JSON.stringify(edu);
    await this.db.transaction(async (trx) => {
      if (coalesceKey !== undefined) {
        await trx('federation_outbox')
          .whereIn('destination', listOf(trx, destinations, 'text'))
          .andWhere('coalesce_key', coalesceKey)
          .whereNull('txn_id')
          .delete();
      }
      const values = destinations.map((destination) => ({ destination, kind: 'edu', edu_json: json, coalesce_key: coalesceKey ?? null }));
      for (const batch of batches(values, 500)) await trx('federation_outbox').insert(batch);
    });
  }

  /** Destinations with anything queued. */
  async pendingDestinations(db: Db = this.db): Promise<string[]> {
    const rows = await db('federation_outbox').distinct('destination');
    return rows.map((r: { destination: string }) => r.destination);
  }

  /** Destinations backing off after failures. */
  async backoffs(db: Db = this.db): Promise<Map<string, Backoff>> {
    const rows = await db('federation_destinations').where('failures', '>', 0).select('destination', 'failures', 'retry_at');
    return new Map(
      rows.map((r: { destination: string; failures: number | string; retry_at: number | string | null }) => [
        r.destination,
        { failures: Number(r.failures), retryAt: Number(r.retry_at ?? 0) },
      ]),
    );
  }

  /** The transaction the destination was being sent when the last run stopped, if any (to resend as it was). */
  async pending(destination: string, db: Db = this.db): Promise<ClaimedBatch | undefined> {
    const first = await db('federation_outbox').where({ destination }).whereNotNull('txn_id').orderBy('id').first('txn_id');
    if (!first) return undefined;
    const rows: OutboxRow[] = await db('federation_outbox as o')
      .leftJoin('events as e', 'e.event_id', 'o.event_id')
      .where({ 'o.destination': destination, 'o.txn_id': first.txn_id })
      .orderBy('o.id')
      .select(ROW_COLUMNS);
    return toBatch(first.txn_id, rows);
  }

  /**
   * Takes the destination's oldest unsent PDUs and EDUs, up to `limits`, into
   * transaction `txnId`: they carry its ID until it is delivered. Undefined
   * when nothing is unsent. `delivered` is acknowledged first, in the same
   * database transaction (one commit per transaction sent).
   */
  async claim(destination: string, txnId: string, limits: { pdus: number; edus: number }, delivered?: Delivered): Promise<ClaimedBatch | undefined> {
    if (isPostgresDb(this.db)) return this.claimInOneStatement(destination, txnId, limits, delivered);
    return this.db.transaction(async (trx) => {
      await withoutWaitingForFlush(trx);
      if (delivered) await this.acknowledge(trx, destination, delivered);
      const oldest = (kind: string, limit: number) =>
        trx
          .select('*')
          .from(
            trx('federation_outbox as o')
              .leftJoin('events as e', 'e.event_id', 'o.event_id')
              .where({ 'o.destination': destination, 'o.kind': kind })
              .whereNull('o.txn_id')
              .orderBy('o.id')
              .limit(limit)
              .select(ROW_COLUMNS)
              .as(kind),
          );
      const rows: OutboxRow[] = await oldest('pdu', limits.pdus).unionAll(oldest('edu', limits.edus));
      if (rows.length === 0) return undefined;
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      const taken = await trx('federation_outbox')
        .whereIn('id', listOf(trx, rows.map((r) => Number(r.id)), 'bigint'))
        .whereNull('txn_id')
        .update({ txn_id: txnId });
      if (taken === rows.length) return toBatch(txnId, rows);
      // A row replaced by a newer coalesced EDU meanwhile (PostgreSQL) is not in the batch: read what was taken.
      const marked: OutboxRow[] = await trx('federation_outbox as o')
        .leftJoin('events as e', 'e.event_id', 'o.event_id')
        .where({ 'o.destination': destination, 'o.txn_id': txnId })
        .orderBy('o.id')
        .select(ROW_COLUMNS);
      return toBatch(txnId, marked);
    });
  }

  /**
   * claim() on PostgreSQL: one statement (a round trip and a commit) where
   * the steps would take six, for the per-transaction cost of a busy sender.
   */
  private async claimInOneStatement(destination: string, txnId: string, limits: { pdus: number; edus: number }, delivered?: Delivered): Promise<ClaimedBatch | undefined> {
    const acknowledge = delivered ? 'acknowledged as (delete from federation_outbox where destination = ? and txn_id = ?),' : '';
    const sql = `with ${acknowledge}
      picked as (
        (select id from federation_outbox where destination = ? and kind = 'pdu' and txn_id is null order by id limit ?)
        union all
        (select id from federation_outbox where destination = ? and kind = 'edu' and txn_id is null order by id limit ?)
      ),
      claimed as (
        update federation_outbox o set txn_id = ? from picked where o.id = picked.id and o.txn_id is null
        returning o.id, o.kind, o.event_id, o.edu_json
      )
      select c.id, c.kind, c.event_id, c.edu_json, e.pdu_json from claimed c left join events e on e.event_id = c.event_id order by c.id`;
    const bindings = [...(delivered ? [destination, delivered.txnId] : []), destination, limits.pdus, destination, limits.edus, txnId];
    const { rows } = (await this.db.raw(sql, bindings)) as { rows: OutboxRow[] };
    if (delivered?.recordSuccess) await this.recordSuccess(this.db, destination, delivered.nowMs);
    return rows.length === 0 ? undefined : toBatch(txnId, rows);
  }

  /** A transaction was accepted: its rows go, and the destination's backoff is over. */
  async delivered(destination: string, delivered: Delivered): Promise<void> {
    await this.db.transaction(async (trx) => {
      await withoutWaitingForFlush(trx);
      await this.acknowledge(trx, destination, delivered);
    });
  }

  private async acknowledge(trx: Db, destination: string, { txnId, nowMs, recordSuccess }: Delivered): Promise<void> {
    await trx('federation_outbox').where({ destination, txn_id: txnId }).delete();
    if (recordSuccess) await this.recordSuccess(trx, destination, nowMs);
  }

  private async recordSuccess(db: Db, destination: string, nowMs: number): Promise<void> {
    await db('federation_destinations')
      .insert({ destination, failures: 0, retry_at: null, last_success_ts: nowMs })
      .onConflict('destination')
      .merge(['failures', 'retry_at', 'last_success_ts']);
  }

  /** Records the destination's backoff (null: none, retry at once). */
  async setBackoff(destination: string, backoff: Backoff | null): Promise<void> {
    await this.db('federation_destinations')
      .insert({ destination, failures: backoff?.failures ?? 0, retry_at: backoff?.retryAt ?? null })
      .onConflict('destination')
      .merge(['failures', 'retry_at']);
  }

  /** When the destination last accepted a transaction, if ever. */
  async lastSuccess(destination: string, db: Db = this.db): Promise<number | undefined> {
    const row = await db('federation_destinations').where({ destination }).first('last_success_ts');
    return row?.last_success_ts == null ? undefined : Number(row.last_success_ts);
  }

  /** How many PDUs and EDUs wait for the destination (including those in a transaction being attempted). */
  async queued(destination: string, db: Db = this.db): Promise<{ pdus: number; edus: number }> {
    const rows = await db('federation_outbox').where({ destination }).groupBy('kind').select('kind').count({ n: '*' });
    const count = (kind: string) => Number((rows as { kind: string; n: number | string }[]).find((r) => r.kind === kind)?.n ?? 0);
    return { pdus: count('pdu'), edus: count('edu') };
  }

}

function toBatch(txnId: string, rows: readonly OutboxRow[]): ClaimedBatch {
  const batch: ClaimedBatch = { txnId, pdus: [], edus: [] };
  for (const r of rows) {
    if (r.kind === 'pdu') batch.pdus.push({ id: Number(r.id), eventId: r.event_id!, event: r.pdu_json === null ? undefined : { id: r.event_id!, pdu: JSON.parse(r.pdu_json) } });
    else batch.edus.push({ id: Number(r.id), edu: JSON.parse(r.edu_json!) });
  }
  return batch;
}

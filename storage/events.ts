/**
 * Room events: each PDU stored once with its edges, its status, the state groups
 * before and after it, and (for timeline events) its position in the global
 * stream. Also each room's forward extremities and timeline reads.
 */
import { authEventIds, isStateEvent, prevEventIds, stateTuple, type RoomEvent } from '../spec/pdu';
import type { Db } from './db';
import { recordRelation } from './relations';
import type { RoomStore } from './rooms';
import { redactedEventId } from '../spec/redaction';
import { roomVersion } from '../spec/room-versions';
import type { StateGroupStore } from './state-groups';
import { StreamPositions } from './stream-positions';
import { isPostgresDb, listOf } from './transactions';

/**
 * accepted: passed every check; in the DAG, the timeline and (if state) the state.
 * soft_failed: valid but failed against the current state: takes part in state,
 *   never reaches clients and is never a forward extremity.
 * rejected: failed authorisation; kept so it is not fetched again, part of nothing.
 * outlier: passed checks against its own auth events; where it sits in the DAG is unknown.
 */
export type EventStatus = 'accepted' | 'soft_failed' | 'rejected' | 'outlier';

export interface PersistInput {
  event: RoomEvent;
  roomId: string;
  status: EventStatus;
  rejectionReason?: string;
  /**
   * The state group of the state before the event: null for the empty state
   * (the create event), absent when the state is unknown (outliers, and
   * rejected outliers). Ignored for outliers.
   */
  stateGroupBefore?: number | null;
  /**
   * For an accepted event fetched as history (backfill): its stream ordering,
   * one of reserveHistoricalOrderings(). Below every live position, so /sync
   * never reads it, while /messages places it by depth; and history never
   * becomes a forward extremity.
   */
  historicalOrdering?: number;
  /**
   * For an accepted event clients must not see yet (a redaction waiting for
   * the event it redacts): no stream position until release() gives it one.
   */
  withheld?: boolean;
}

export interface Persisted {
  /** Null for events outside every timeline (all but accepted events). */
  streamOrdering: number | null;
  stateGroupBefore: number | null;
  /** For an accepted or soft-failed state event, a new group: before + the event. Otherwise before. */
  stateGroupAfter: number | null;
  /** The event was stored already (in a final status): nothing changed. */
  alreadyStored: boolean;
}

export interface StoredEvent {
  event: RoomEvent;
  roomId: string;
  status: EventStatus;
  rejectionReason?: string;
  streamOrdering: number | null;
  depth: number;
  stateGroupBefore: number | null;
  stateGroupAfter: number | null;
  /**
   * For an accepted event: the room's current state once it was applied. The
   * same as stateGroupAfter unless the event sits on a fork and the room's
   * state is the resolution of several.
   */
  roomStateAfter: number | null;
  /** The redaction applied to the event: serve its redacted form. */
  redactedBy?: string;
  /** For a state event: the event it replaced in the state before it (its content is unsigned.prev_content). */
  prevState?: string;
}

/** Whether clients may see the event: accepted, and not withheld (a redaction waiting for its event). */
export function shownToClients(stored: Pick<StoredEvent, 'status' | 'streamOrdering'>): boolean {
  return stored.status === 'accepted' && stored.streamOrdering !== null;
}

/** A room as the event store writes into it. */
type KnownRoom = { nid: number; version: string };

export interface ForwardExtremity {
  eventId: string;
  depth: number;
  /** The state after the extremity: what a new event on top of it alone would see. */
  stateGroupAfter: number | null;
}

/** A batch loader of events, for state resolution and auth chains: missing IDs are absent. */
export interface EventSource {
  get(ids: readonly string[]): Promise<Map<string, RoomEvent>>;
}

export interface TopologicalPosition {
  depth: number;
  streamOrdering: number;
}

export interface StreamRange {
  /** Exclusive bounds. */
  after?: number;
  before?: number;
  order: 'asc' | 'desc';
  limit: number;
}

export interface TopologicalRange {
  /** Exclusive bounds, compared as (depth, stream ordering). */
  after?: TopologicalPosition;
  before?: TopologicalPosition;
  order: 'asc' | 'desc';
  limit: number;
}

interface Raw {
  event_id: string;
  room_id: string;
  status: EventStatus;
  rejection_reason: string | null;
  stream_ordering: number | null;
  depth: number;
  state_before: number | null;
  state_after: number | null;
  room_state: number | null;
  redacted_by: string | null;
  prev_state: string | null;
  pdu_json: string;
}

const COLUMNS = [
  'e.event_id',
  'r.room_id',
  'e.status',
  'e.rejection_reason',
  'e.stream_ordering',
  'e.depth',
  'e.state_before',
  'e.state_after',
  'e.room_state',
  'e.redacted_by',
  'e.prev_state',
  'e.pdu_json',
];

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

const fromRaw = (r: Raw): StoredEvent => ({
  event: { id: r.event_id, pdu: JSON.parse(r.pdu_json) },
  roomId: r.room_id,
  status: r.status,
  ...(r.rejection_reason === null ? {} : { rejectionReason: r.rejection_reason }),
  streamOrdering: num(r.stream_ordering),
  depth: Number(r.depth),
  stateGroupBefore: num(r.state_before),
  stateGroupAfter: num(r.state_after),
  roomStateAfter: r.stream_ordering === null ? null : (num(r.room_state) ?? num(r.state_after)),
  ...(r.redacted_by === null ? {} : { redactedBy: r.redacted_by }),
  ...(r.prev_state === null ? {} : { prevState: r.prev_state }),
});

/** content.membership of an m.room.member event. */
function membershipOf(event: RoomEvent): string | null {
  const membership = event.pdu.type === 'm.room.member' ? event.pdu.content.membership : undefined;
  return typeof membership === 'string' ? membership.slice(0, 32) : null;
}

export class EventStore {
  /** Stream orderings that readers may rely on (`latest()`), and when an event may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
    private readonly groups: StateGroupStore,
  ) {
    this.positions = new StreamPositions(db, 'events', 'stream_ordering');
  }

  /**
   * Stores an event (call under the room's lock). A new event gets its edges;
   * an accepted one a stream position, and it replaces its prev events among the
   * room's forward extremities (and becomes one, unless a stored accepted event
   * already names it as a prev event). An accepted or soft-failed state event
   * gets a new state group for the state after it. Persisting an outlier again
   * with another status moves it into the DAG; persisting any other stored
   * event again changes nothing. The current state is the engine's to set
   * (RoomStateStore.setCurrentState).
   */
  async persist(trx: Db, input: PersistInput): Promise<Persisted> {
    const { event, roomId, status } = input;
    const room = await this.rooms.ref(roomId, trx);
    const roomNid = room.nid;
    const before = status === 'outlier' || input.stateGroupBefore === undefined ? null : (input.stateGroupBefore ?? (await this.groups.create(trx, roomId, null, new Map())));
    const historical = input.historicalOrdering !== undefined;
    const written = await this.positions.track(
      trx,
      () => this.insertOrMoveIntoDag(trx, room, input, before),
      // History takes no live position, nor does a withheld event: nothing for /sync readers to wait for.
      (w) => ('stored' in w || historical ? null : w.streamOrdering),
    );
    if ('stored' in written) return written.stored;
    await recordRelation(trx, { nid: written.nid, roomNid, event, status, streamOrdering: written.streamOrdering });

    let after = before;
    if (before !== null && isStateEvent(event.pdu) && (status === 'accepted' || status === 'soft_failed')) {
      const tuple = stateTuple(event.pdu.type, event.pdu.state_key!);
      const replaced = await this.groups.entry(before, tuple, trx);
      after = await this.groups.create(trx, roomId, before, new Map([[tuple, event.id]]));
      await trx('events').where({ nid: written.nid }).update({ state_after: after, prev_state: replaced ?? null });
    }
    if (status === 'accepted' && !historical) await this.updateForwardExtremities(trx, roomNid, event);
    return { streamOrdering: written.streamOrdering, stateGroupBefore: before, stateGroupAfter: after, alreadyStored: false };
  }

  /** Inserts the event, or moves a stored outlier into the DAG; reports an event already stored otherwise. */
  private async insertOrMoveIntoDag(
    trx: Db,
    room: KnownRoom,
    { event, status, rejectionReason, historicalOrdering, withheld }: PersistInput,
    before: number | null,
  ): Promise<{ nid: number; streamOrdering: number | null } | { stored: Persisted }> {
    const fields = {
      status,
      rejection_reason: rejectionReason ?? null,
      state_before: before,
      state_after: before,
      stream_ordering: status !== 'accepted' || withheld ? null : (historicalOrdering ?? this.nextStreamOrdering(trx)),
    };
    const inserted = await this.insert(trx, room, event, fields);
    if (inserted) return inserted;
    const existing = await trx('events').where({ event_id: event.id }).first('nid', 'status', 'stream_ordering', 'state_before', 'state_after');
    if (existing.status !== 'outlier' || status === 'outlier') {
      const stored = { streamOrdering: num(existing.stream_ordering), stateGroupBefore: num(existing.state_before), stateGroupAfter: num(existing.state_after) };
      return { stored: { ...stored, alreadyStored: true } };
    }
    const [updated] = await trx('events').where({ nid: existing.nid }).update(fields).returning('stream_ordering');
    return { nid: Number(existing.nid), streamOrdering: num(updated.stream_ordering) };
  }

  /**
   * Gives a withheld event the next live stream position (under the room's
   * lock, once the current state is set): /sync reads the room's current state
   * at that position.
   */
  async release(trx: Db, eventId: string): Promise<number> {
    const [row] = await this.positions.track(
      trx,
      () =>
        trx('events')
          .where({ event_id: eventId })
          .whereNull('stream_ordering')
          .update({
            stream_ordering: this.nextStreamOrdering(trx),
            room_state: trx.raw('(select current_state_group from rooms where rooms.nid = events.room_nid)'),
          })
          .returning('stream_ordering'),
      (rows) => (rows.length === 0 ? null : Number(rows[0].stream_ordering)),
    );
    if (!row) throw new Error(`events: ${eventId} is not a withheld event`);
    return Number(row.stream_ordering);
  }

  /**
   * Stores a membership event of a room this server is not in (an invite from
   * another server, or a knock or leave made through a resident server): an
   * outlier, since its place in the DAG is unknown, but with a stream position,
   * so that /sync can tell the user. Its state groups stay null: no timeline
   * shows it and no state is read at it. Nothing changes if it is stored already.
   */
  async persistOutOfBand(trx: Db, roomId: string, event: RoomEvent): Promise<{ streamOrdering: number | null; alreadyStored: boolean }> {
    const room = await this.rooms.ref(roomId, trx);
    const fields = { status: 'outlier', rejection_reason: null, state_before: null, state_after: null, stream_ordering: this.nextStreamOrdering(trx) };
    const inserted = await this.positions.track(trx, () => this.insert(trx, room, event, fields), (row) => row?.streamOrdering ?? null);
    return inserted ? { streamOrdering: inserted.streamOrdering, alreadyStored: false } : { streamOrdering: null, alreadyStored: true };
  }

  /** Inserts a new event row with its edges; undefined when the event is stored already. */
  private async insert(trx: Db, room: KnownRoom, event: RoomEvent, fields: Record<string, unknown>): Promise<{ nid: number; streamOrdering: number | null } | undefined> {
    const [inserted] = await trx('events')
      .insert({
        ...fields,
        event_id: event.id,
        room_nid: room.nid,
        type: event.pdu.type,
        state_key: event.pdu.state_key ?? null,
        sender: event.pdu.sender,
        depth: event.pdu.depth,
        origin_server_ts: event.pdu.origin_server_ts,
        redacts: redactedEventId(event.pdu, roomVersion(room.version)!) ?? null,
        membership: membershipOf(event),
        pdu_json: JSON.stringify(event.pdu),
      })
      .onConflict('event_id')
      .ignore()
      .returning(['nid', 'stream_ordering']);
    if (!inserted) return undefined;
    await this.insertEdges(trx, Number(inserted.nid), event);
    return { nid: Number(inserted.nid), streamOrdering: num(inserted.stream_ordering) };
  }

  async get(ids: readonly string[], db: Db = this.db): Promise<Map<string, StoredEvent>> {
    if (ids.length === 0) return new Map();
    const rows: Raw[] = await this.select(db).whereIn('e.event_id', listOf(db, ids, 'text'));
    return new Map(rows.map((r) => [r.event_id, fromRaw(r)]));
  }

  /** Which of `ids` are stored as rejected (state resolution leaves their auth events out of gap filling). */
  async rejectedAmong(ids: readonly string[], db: Db = this.db): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await db('events').whereIn('event_id', listOf(db, ids, 'text')).where({ status: 'rejected' }).select('event_id');
    return new Set(rows.map((r) => r.event_id as string));
  }

  /** A batch loader over the stored events (any status). */
  source(db: Db = this.db): EventSource {
    return {
      get: async (ids) => {
        if (ids.length === 0) return new Map();
        const rows = await db('events').whereIn('event_id', listOf(db, ids, 'text')).select('event_id', 'pdu_json');
        return new Map(rows.map((r) => [r.event_id as string, { id: r.event_id as string, pdu: JSON.parse(r.pdu_json) }]));
      },
    };
  }

  /** The events new events in the room should name as prev events, with their depths. */
  async forwardExtremities(roomId: string, db: Db = this.db): Promise<ForwardExtremity[]> {
    const rows = await db('forward_extremities as f')
      .join('events as e', 'e.event_id', 'f.event_id')
      .where('f.room_nid', await this.rooms.nid(roomId, db))
      .orderBy('e.depth', 'desc')
      .select('e.event_id', 'e.depth', 'e.state_after');
    return rows.map((r) => ({ eventId: r.event_id, depth: Number(r.depth), stateGroupAfter: num(r.state_after) }));
  }

  /** The room's live timeline events (not history fetched by backfill) by stream position: the /sync order. */
  async byStream(roomId: string, range: StreamRange, db: Db = this.db): Promise<StoredEvent[]> {
    const query = this.select(db)
      .where('e.room_nid', await this.rooms.nid(roomId, db))
      .where('e.stream_ordering', '>', Math.max(range.after ?? 0, 0))
      .orderBy('e.stream_ordering', range.order)
      .limit(range.limit);
    if (range.before !== undefined) query.where('e.stream_ordering', '<', range.before);
    return (await query).map(fromRaw);
  }

  /** Timeline events of every room with stream orderings in (after, upTo], oldest first, at most `limit`. */
  async inStreamRange(after: number, upTo: number, limit: number, db: Db = this.db): Promise<StoredEvent[]> {
    const rows = await this.select(db)
      .where('e.stream_ordering', '>', after)
      .andWhere('e.stream_ordering', '<=', upTo)
      .orderBy('e.stream_ordering', 'asc')
      .limit(limit);
    return rows.map(fromRaw);
  }

  /** The room's timeline events in topological order (depth, then stream position: the /messages order). */
  async byTopology(roomId: string, range: TopologicalRange, db: Db = this.db): Promise<StoredEvent[]> {
    const query = this.select(db)
      .where('e.room_nid', await this.rooms.nid(roomId, db))
      .whereNotNull('e.stream_ordering')
      .orderBy([
        { column: 'e.depth', order: range.order },
        { column: 'e.stream_ordering', order: range.order },
      ])
      .limit(range.limit);
    if (range.after) query.whereRaw('(e.depth, e.stream_ordering) > (?, ?)', [range.after.depth, range.after.streamOrdering]);
    if (range.before) query.whereRaw('(e.depth, e.stream_ordering) < (?, ?)', [range.before.depth, range.before.streamOrdering]);
    return (await query).map(fromRaw);
  }

  /** Every timeline event at or below this position is readable, and none will appear there later. */
  latestStreamOrdering(db: Db = this.db): Promise<number> {
    return this.positions.latest(db);
  }


  /** Records that `redactionId` (a redaction the engine has checked) applies to `eventId`. */
  async setRedactedBy(trx: Db, eventId: string, redactionId: string): Promise<void> {
    await trx('events').where({ event_id: eventId }).update({ redacted_by: redactionId });
  }

  /** Stored, accepted redaction events naming `eventId` (which may have arrived before it). */
  async redactionsOf(eventId: string, db: Db = this.db): Promise<string[]> {
    const rows = await db('events').where({ redacts: eventId, status: 'accepted' }).orderBy('nid').select('event_id');
    return rows.map((r) => r.event_id);
  }

  private select(db: Db) {
    return db('events as e').join('rooms as r', 'r.nid', 'e.room_nid').select<Raw[]>(COLUMNS);
  }

  private nextStreamOrdering(trx: Db) {
    return isPostgresDb(trx)
      ? trx.raw("nextval('events_stream_seq')")
      : trx.raw('(select coalesce(max(stream_ordering), 0) + 1 from events where stream_ordering > 0)');
  }

  /**
   * `count` stream orderings for history (call under the room's lock and
   * store with them in the same transaction): below every ordering taken so
   * far, live or historical, in ascending order. Given oldest event first,
   * each batch of history is in stream order, and below the batches before it.
   */
  async reserveHistoricalOrderings(trx: Db, count: number): Promise<number[]> {
    if (count <= 0) return [];
    if (isPostgresDb(trx)) {
      const { rows } = await trx.raw("select nextval('events_backfill_seq') as n from generate_series(1, ?)", [count]);
      return rows.map((r: { n: string | number }) => -Number(r.n)).sort((a: number, b: number) => a - b);
    }
    // SQLite has one writer: nothing can take an ordering between this read and the inserts.
    const row = await trx('events').min<{ low: number | string | null }[]>({ low: 'stream_ordering' }).first();
    const low = Math.min(Number(row?.low ?? 0), 0);
    return Array.from({ length: count }, (_, i) => low - count + i);
  }

  private async insertEdges(trx: Db, nid: number, event: RoomEvent): Promise<void> {
    const prevs = [...new Set(prevEventIds(event.pdu))].map((id) => ({ event_nid: nid, prev_event_id: id }));
    const auths = [...new Set(authEventIds(event.pdu))].map((id) => ({ event_nid: nid, auth_event_id: id }));
    if (prevs.length > 0) await trx('event_prev_edges').insert(prevs);
    if (auths.length > 0) await trx('event_auth_edges').insert(auths);
  }

  private async updateForwardExtremities(trx: Db, roomNid: number, event: RoomEvent): Promise<void> {
    const prevs = prevEventIds(event.pdu);
    if (prevs.length > 0) await trx('forward_extremities').where('room_nid', roomNid).whereIn('event_id', prevs).delete();
    await trx.raw(
      `insert into forward_extremities (room_nid, event_id)
       select cast(? as integer), ? where not exists (
         select 1 from event_prev_edges p join events c on c.nid = p.event_nid
         where p.prev_event_id = ? and c.status = 'accepted')`,
      [roomNid, event.id, event.id],
    );
  }
}

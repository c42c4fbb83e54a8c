/**
 * Reading a room's timeline: GET /messages (paging in topological order),
 * GET /context (the events around one) and timestamp_to_event. Pages hold only
 * what the reader may see (server/rooms/history-access.ts), filtered by the
 * request's RoomEventFilter; tokens are server/rooms/tokens.ts points.
 *
 * Paging backwards, /messages fills the gaps it meets in our copy of the DAG
 * (server/rooms/backfill.ts) when the reader may see what lies behind them.
 */
import type { ClientEvent } from '../../spec/client-event';
import { notFound } from '../../spec/errors';
import { eventAllowed, type RoomEventFilter } from '../../spec/filter';
import { splitStateTuple, stateTuple } from '../../spec/pdu';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import type { TimestampCursor } from '../../storage/timeline';
import type { Requester } from '../http/route';
import type { Backfill } from './backfill';
import type { ClientEvents } from './client-events';
import type { HistoryAccess, Reader } from './history-access';
import { minPoint, pointAfter, pointBefore, ROOM_START, topologicalToken, type Point, type RoomToken } from './tokens';

export type Direction = 'b' | 'f';

/** Timeline events read per request at most, however few of them pass the filter and visibility. */
const MAX_SCAN = 2000;
/** Rows read per query once a page has come up short. */
const REFILL_BATCH = 100;
/** Gaps one /messages request fills at most: each is a federation request or more. */
const MAX_FILLS = 3;

export interface MessagesRequest {
  from?: { token: string; parsed: RoomToken };
  to?: { token: string; parsed: RoomToken };
  dir: Direction;
  limit: number;
  filter: RoomEventFilter;
}

export interface MessagesResponse {
  start: string;
  end?: string;
  chunk: ClientEvent[];
  state?: ClientEvent[];
}

export interface ContextResponse {
  start: string;
  end: string;
  events_before: ClientEvent[];
  event: ClientEvent;
  events_after: ClientEvent[];
  state: ClientEvent[];
}

interface Scan {
  reader: Reader;
  from: Point;
  dir: Direction;
  /** No event beyond this point is read. */
  to?: Point;
  limit: number;
  accept: (stored: StoredEvent) => boolean;
  /** Backwards: fill the gaps met (the events read and the one just after `from`) from other servers. */
  backfill?: boolean;
}

interface ScanResult {
  /** In the direction of travel. */
  events: StoredEvent[];
  /** The point reached: past the last event read. */
  end: Point;
  /** Nothing is left between `end` and the bound. */
  exhausted: boolean;
}

export class Timeline {
  constructor(
    private readonly stores: Stores,
    private readonly access: HistoryAccess,
    private readonly clientEvents: ClientEvents,
    private readonly backfill?: Backfill,
  ) {}

  async messages(requester: Requester, roomId: string, request: MessagesRequest): Promise<MessagesResponse> {
    const reader = await this.access.open(requester.userId, roomId);
    const { dir, filter } = request;
    const horizon = reader.horizon;
    let from = request.from ? await this.access.point(roomId, request.from.parsed) : await this.edge(reader, dir);
    const requestedTo = request.to && (await this.access.point(roomId, request.to.parsed));
    let to = requestedTo;
    if (horizon && dir === 'b') from = minPoint(from, horizon);
    if (horizon && dir === 'f') to = to ? minPoint(to, horizon) : horizon;

    const page = await this.scan({ reader, from, dir, to, limit: request.limit, accept: (stored) => passes(filter, stored), backfill: dir === 'b' });
    const response: MessagesResponse = {
      start: request.from?.token ?? topologicalToken(from),
      chunk: await this.clientEvents.format(page.events, requester),
    };
    // At the end of the range: more may follow a bound the client chose, none the start or end of (visible) history.
    if (!page.exhausted) response.end = topologicalToken(page.end);
    else if (request.to && to === requestedTo) response.end = request.to.token;
    if (filter.lazyLoadMembers && page.events.length > 0) {
      const state = await this.memberState(page.events[0], page.events);
      if (state.length > 0) response.state = await this.clientEvents.format(state, requester, { withoutAggregations: true });
    }
    return response;
  }

  async context(requester: Requester, roomId: string, eventId: string, request: { limit: number; filter: RoomEventFilter }): Promise<ContextResponse> {
    const reader = await this.access.open(requester.userId, roomId);
    const stored = (await this.stores.events.get([eventId])).get(eventId);
    if (!stored || stored.streamOrdering === null || (await this.access.visible(reader, [stored])).length === 0) {
      throw notFound('Event not found');
    }
    const position = { depth: stored.depth, streamOrdering: stored.streamOrdering };
    const accept = (e: StoredEvent) => passes(request.filter, e);
    const beforeLimit = Math.floor(request.limit / 2);
    const before = await this.scan({ reader, from: pointBefore(position), dir: 'b', limit: beforeLimit, accept });
    const after = await this.scan({ reader, from: pointAfter(position), dir: 'f', to: reader.horizon, limit: request.limit - beforeLimit, accept });

    const shown = [...before.events, stored, ...after.events];
    const last = after.events.at(-1) ?? stored;
    const senders = new Set(shown.map((e) => e.event.pdu.sender));
    const stateIds = [...((await this.stores.roomState.stateAfter(last.event.id)) ?? new Map<string, string>())].flatMap(([tuple, id]) => {
      const { type, stateKey } = splitStateTuple(tuple);
      return request.filter.lazyLoadMembers && type === 'm.room.member' && !senders.has(stateKey) ? [] : [id];
    });
    const relevant = [...(await this.stores.events.get(stateIds)).values()].filter((e) => passes(request.filter, e));
    const [formatted, eventsBefore, eventsAfter, stateEvents] = [
      await this.clientEvents.formatOne(stored, requester),
      await this.clientEvents.format(before.events, requester),
      await this.clientEvents.format(after.events, requester),
      await this.clientEvents.format(relevant, requester, { withoutAggregations: true }),
    ];
    return {
      start: topologicalToken(before.end),
      end: topologicalToken(after.end),
      events_before: eventsBefore,
      event: formatted,
      events_after: eventsAfter,
      state: stateEvents,
    };
  }

  /** The visible event closest to `ts` in direction `dir`; 404 M_NOT_FOUND if there is none. */
  async eventAt(requester: Requester, roomId: string, ts: number, dir: Direction): Promise<{ event_id: string; origin_server_ts: number }> {
    const reader = await this.access.open(requester.userId, roomId);
    let after: TimestampCursor | undefined;
    for (let scanned = 0; scanned < MAX_SCAN; ) {
      const rows = await this.stores.timeline.byTimestamp(roomId, { ts, dir, after, limit: REFILL_BATCH });
      const loaded = await this.stores.events.get(rows.map((r) => r.eventId));
      const visible = new Set((await this.access.visible(reader, [...loaded.values()])).map((e) => e.event.id));
      const found = rows.find((r) => visible.has(r.eventId));
      if (found) return { event_id: found.eventId, origin_server_ts: found.ts };
      if (rows.length < REFILL_BATCH) break;
      scanned += rows.length;
      after = { ts: rows.at(-1)!.ts, streamOrdering: rows.at(-1)!.streamOrdering };
    }
    throw notFound(`No event found ${dir === 'f' ? 'at or after' : 'at or before'} ${ts}`);
  }

  /** Where paging without `from` starts: the start of the room forwards, the end of what the reader may see backwards. */
  private async edge(reader: Reader, dir: Direction): Promise<Point> {
    if (dir === 'f') return ROOM_START;
    if (reader.horizon) return reader.horizon;
    const [last] = await this.stores.events.byTopology(reader.roomId, { order: 'desc', limit: 1 });
    return last ? pointAfter({ depth: last.depth, streamOrdering: last.streamOrdering! }) : ROOM_START;
  }

  /**
   * Reads timeline events from `from` in direction `dir` until `limit` of them
   * pass `accept` and the reader's view, the range is exhausted, or MAX_SCAN
   * events have been read. With `backfill`, each gap met (an event whose prev
   * events we lack) is filled before reading on past it, so the history
   * fetched comes next. When the range ends at a gap that could not be
   * filled, it does not count as exhausted: the client gets an `end` to try
   * again with.
   */
  private async scan(scan: Scan): Promise<ScanResult> {
    const { reader, dir, to, limit } = scan;
    const gaps = scan.backfill && this.backfill ? new GapFiller(this.stores, this.access, this.backfill, reader) : undefined;
    const events: StoredEvent[] = [];
    let end = scan.from;
    let scanned = 0;
    /** The last event read (or the one just after `from`) has a gap that stays open. */
    let openGap = false;
    // The event just after `from` (the first of a /sync timeline, say) may have a gap right where this page begins.
    if (gaps) {
      const [next] = await this.stores.events.byTopology(reader.roomId, { after: { depth: end.depth, streamOrdering: end.stream }, order: 'asc', limit: 1 });
      if (next) openGap = (await gaps.fill([next], next, limit)) === 'open';
    }
    while (events.length < limit && scanned < MAX_SCAN) {
      const size = Math.min(scanned === 0 ? limit : Math.max(limit - events.length, REFILL_BATCH), MAX_SCAN - scanned);
      const rows = await this.stores.events.byTopology(
        reader.roomId,
        dir === 'b'
          ? { before: { depth: end.depth, streamOrdering: end.stream + 1 }, after: to && { depth: to.depth, streamOrdering: to.stream }, order: 'desc', limit: size }
          : { after: { depth: end.depth, streamOrdering: end.stream }, before: to && { depth: to.depth, streamOrdering: to.stream + 1 }, order: 'asc', limit: size },
      );
      scanned += rows.length;
      const visible = new Set((await this.access.visible(reader, rows.filter(scan.accept))).map((e) => e.event.id));
      let filled = false;
      for (const row of rows) {
        const position = { depth: row.depth, streamOrdering: row.streamOrdering! };
        end = dir === 'b' ? pointBefore(position) : pointAfter(position);
        if (visible.has(row.event.id)) {
          events.push(row);
          if (events.length === limit) return { events, end, exhausted: false };
        }
        const gap = gaps ? await gaps.fill(rows, row, limit - events.length) : 'none';
        openGap = gap === 'open';
        // Read on from just before the gap's event: what was fetched behind it is next.
        if (gap === 'filled') {
          filled = true;
          break;
        }
      }
      if (!filled && rows.length < size) return { events, end, exhausted: !openGap };
    }
    return { events, end, exhausted: false };
  }

  /** Lazy-loading: the member events of the page's senders, in the state after `at`. */
  private async memberState(at: StoredEvent, page: readonly StoredEvent[]): Promise<StoredEvent[]> {
    const state = (await this.stores.roomState.stateAfter(at.event.id)) ?? new Map<string, string>();
    const ids = [...new Set(page.map((e) => e.event.pdu.sender))].flatMap((sender) => state.get(stateTuple('m.room.member', sender)) ?? []);
    const loaded = await this.stores.events.get(ids);
    return ids.flatMap((id) => loaded.get(id) ?? []);
  }
}

/** Whether an event passes a RoomEventFilter (a redacted event has no `url`). */
export function passes(filter: RoomEventFilter, stored: StoredEvent): boolean {
  const { pdu } = stored.event;
  return eventAllowed(filter, { type: pdu.type, sender: pdu.sender, room_id: stored.roomId, content: stored.redactedBy ? {} : pdu.content });
}

/**
 * `none`: no gap at the event, or none the reader could see behind;
 * `filled`: history behind it was stored; `open`: it could not be filled (now).
 */
type GapOutcome = 'none' | 'filled' | 'open';

/**
 * The gaps one backwards scan meets, filled as it meets them (at most
 * MAX_FILLS), when the reader may see what lies behind them. Gaps are looked
 * up once per batch of rows read.
 */
class GapFiller {
  private fills = 0;
  private readonly known = new Map<string, readonly string[]>();
  private readonly looked = new Set<string>();

  constructor(
    private readonly stores: Stores,
    private readonly access: HistoryAccess,
    private readonly backfill: Backfill,
    private readonly reader: Reader,
  ) {}

  /** Fills the gap at `event` (one of `batch`), if it has one. */
  async fill(batch: readonly StoredEvent[], event: StoredEvent, want: number): Promise<GapOutcome> {
    if (!this.looked.has(event.event.id)) {
      const ids = batch.map((e) => e.event.id).filter((id) => !this.looked.has(id));
      for (const [id, missing] of await this.stores.timeline.gapsAt(ids)) this.known.set(id, missing);
      for (const id of ids) this.looked.add(id);
    }
    const missing = this.known.get(event.event.id);
    if (!missing || !(await this.access.mayReadBefore(this.reader, event))) return 'none';
    if (this.fills >= MAX_FILLS) return 'open';
    this.fills += 1;
    return (await this.backfill.fill(this.reader.roomId, { eventId: event.event.id, missing }, want)) ? 'filled' : 'open';
  }
}

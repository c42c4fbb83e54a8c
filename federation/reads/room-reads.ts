/**
 * Room events for other servers (server-server-api, "Retrieving events",
 * "Backfilling and retrieving missing events", "Retrieving event
 * authorisation information"): single events, the state and auth chain at an
 * event, backfill, missing events, and the event closest to a timestamp.
 *
 * Events go out as stored PDUs (hashes and signatures as signed), in their
 * redacted form when they were redacted or the asking server may not see them
 * (ServerAccess): a server in the room still gets the DAG whole. Rejected
 * events are never served.
 */
import { forbidden, notFound } from '../../spec/errors';
import { createEventIdOfRoom } from '../../spec/event-hashes';
import { authEventIds, prevEventIds, type Pdu } from '../../spec/pdu';
import { redact } from '../../spec/redaction';
import type { RoomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import type { TimestampCursor } from '../../storage/timeline';
import type { ServerAccess } from './server-access';

/** The most events one /backfill or /get_missing_events returns, whatever the limit asked for. */
export const MAX_EVENTS_PER_REQUEST = 100;
/** get_missing_events' default `limit`. */
const DEFAULT_MISSING_LIMIT = 10;
/** Timeline events timestamp_to_event reads at most, and per query. */
const MAX_SCAN = 2000;
const SCAN_BATCH = 100;

/** A transaction holding PDUs, as /event and /backfill answer (definitions/transaction.yaml). */
export interface PduTransaction {
  origin: string;
  origin_server_ts: number;
  pdus: Pdu[];
}

export interface MissingEventsRequest {
  limit?: number;
  min_depth?: number;
  earliest_events: string[];
  latest_events: string[];
}

/** The PDU as another server gets it: as stored, or redacted if it was redacted or they may not see it. */
export function federationPdu(stored: StoredEvent, version: RoomVersion, visible: boolean): Pdu {
  return stored.redactedBy !== undefined || !visible ? redact(stored.event.pdu, version) : stored.event.pdu;
}

export class RoomReads {
  constructor(
    private readonly stores: Stores,
    private readonly access: ServerAccess,
    private readonly serverName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** GET /event/{eventId}: for a server that may see it, or (redacted) one taking part in its room now. */
  async event(origin: string, eventId: string): Promise<PduTransaction> {
    const stored = (await this.stores.events.get([eventId])).get(eventId);
    if (!stored || stored.status === 'rejected') throw notFound('Event not found');
    const version = await this.access.roomVersion(stored.roomId);
    await this.access.checkAcl(origin, stored.roomId);
    const visible = (await this.access.visibleTo(origin, stored.roomId, [stored])).has(eventId);
    if (!visible && !(await this.access.mayReadNow(origin, stored.roomId))) throw forbidden(`Server ${origin} may not see this event`);
    return this.transaction([federationPdu(stored, version, visible)]);
  }

  /** GET /state/{roomId}: the state before the event, and the auth chain of that state. */
  async state(origin: string, roomId: string, eventId: string): Promise<{ pdus: Pdu[]; auth_chain: Pdu[] }> {
    const { version, state } = await this.stateAt(origin, roomId, eventId);
    const chain = await this.authChain(roomId, version, state);
    return { pdus: state.map((s) => federationPdu(s, version, true)), auth_chain: chain.map((s) => federationPdu(s, version, true)) };
  }

  /** GET /state_ids/{roomId}: as /state, by event ID. */
  async stateIds(origin: string, roomId: string, eventId: string): Promise<{ pdu_ids: string[]; auth_chain_ids: string[] }> {
    const { version, state } = await this.stateAt(origin, roomId, eventId);
    const chain = await this.authChain(roomId, version, state);
    return { pdu_ids: state.map((s) => s.event.id), auth_chain_ids: chain.map((s) => s.event.id) };
  }

  /** GET /event_auth/{roomId}/{eventId}: the event's auth chain. */
  async eventAuth(origin: string, roomId: string, eventId: string): Promise<{ auth_chain: Pdu[] }> {
    const { version, stored } = await this.pointInRoom(origin, roomId, eventId);
    const chain = await this.authChain(roomId, version, [stored]);
    return { auth_chain: chain.map((s) => federationPdu(s, version, true)) };
  }

  /**
   * GET /backfill/{roomId}: the events `from` and those before them, walking
   * prev_events outwards, deepest first, up to `limit` (at most MAX_EVENTS_PER_REQUEST).
   */
  async backfill(origin: string, roomId: string, from: readonly string[], limit: number): Promise<PduTransaction> {
    const version = await this.access.requireParticipant(origin, roomId);
    const found = await this.walkPrevEvents(roomId, [...new Set(from)], new Set(from), Math.min(limit, MAX_EVENTS_PER_REQUEST), () => true);
    return this.transaction(await this.forServer(origin, roomId, version, found));
  }

  /**
   * POST /get_missing_events/{roomId}: the prev events of `latest_events` and
   * theirs, breadth first, neither returning nor walking through
   * `earliest_events` or events below `min_depth`; oldest first.
   */
  async missingEvents(origin: string, roomId: string, request: MissingEventsRequest): Promise<{ events: Pdu[] }> {
    const version = await this.access.requireParticipant(origin, roomId);
    const limit = Math.min(Math.max(request.limit ?? DEFAULT_MISSING_LIMIT, 0), MAX_EVENTS_PER_REQUEST);
    const minDepth = request.min_depth ?? 0;
    const seen = new Set([...request.earliest_events, ...request.latest_events]);
    const latest = [...(await this.stores.events.get([...new Set(request.latest_events)])).values()].filter((s) => s.roomId === roomId);
    const start = this.unseenPrevEvents(latest, seen);
    const found = await this.walkPrevEvents(roomId, start, seen, limit, (stored) => stored.depth >= minDepth);
    found.sort((a, b) => a.depth - b.depth);
    return { events: await this.forServer(origin, roomId, version, found) };
  }

  /** GET /timestamp_to_event/{roomId}: the event closest to `ts` in direction `dir` that `origin` may see. */
  async eventAt(origin: string, roomId: string, ts: number, dir: 'f' | 'b'): Promise<{ event_id: string; origin_server_ts: number }> {
    await this.access.requireParticipant(origin, roomId);
    let after: TimestampCursor | undefined;
    for (let scanned = 0; scanned < MAX_SCAN; ) {
      const rows = await this.stores.timeline.byTimestamp(roomId, { ts, dir, after, limit: SCAN_BATCH });
      const loaded = await this.stores.events.get(rows.map((r) => r.eventId));
      const visible = await this.access.visibleTo(origin, roomId, [...loaded.values()]);
      const found = rows.find((r) => visible.has(r.eventId));
      if (found) return { event_id: found.eventId, origin_server_ts: found.ts };
      if (rows.length < SCAN_BATCH) break;
      scanned += rows.length;
      after = { ts: rows.at(-1)!.ts, streamOrdering: rows.at(-1)!.streamOrdering };
    }
    throw notFound(`No event found ${dir === 'f' ? 'at or after' : 'at or before'} ${ts}`);
  }

  /**
   * An event of the room that `origin` may ask about: 404 for an unknown room
   * or event, 403 when the ACL denies the server or it may not see the event
   * (for an event whose state is unknown: unless it takes part in the room now).
   */
  private async pointInRoom(origin: string, roomId: string, eventId: string): Promise<{ version: RoomVersion; stored: StoredEvent }> {
    const version = await this.access.roomVersion(roomId);
    await this.access.checkAcl(origin, roomId);
    const stored = (await this.stores.events.get([eventId])).get(eventId);
    if (!stored || stored.roomId !== roomId || stored.status === 'rejected') throw notFound(`Could not find event ${eventId}`);
    const seen = stored.stateGroupBefore !== null
      ? (await this.access.visibleTo(origin, roomId, [stored])).has(eventId)
      : await this.access.mayReadNow(origin, roomId);
    if (!seen) throw forbidden(`Server ${origin} may not see the room at this event`);
    return { version, stored };
  }

  /** The state events before the event; 404 when that state is unknown (an outlier). */
  private async stateAt(origin: string, roomId: string, eventId: string): Promise<{ version: RoomVersion; state: StoredEvent[] }> {
    const { version } = await this.pointInRoom(origin, roomId, eventId);
    const ids = await this.stores.roomState.stateBefore(eventId);
    if (ids === undefined) throw notFound(`The state at ${eventId} is not known`);
    return { version, state: [...(await this.stores.events.get([...ids.values()])).values()] };
  }

  /**
   * The union of the events' auth chains: their auth events, theirs, and so on.
   * From room version 12 the create event, which auth_events leave out, is included.
   */
  async authChain(roomId: string, version: RoomVersion, starts: readonly StoredEvent[]): Promise<StoredEvent[]> {
    const createId = createEventIdOfRoom(roomId, version);
    const authIds = (stored: StoredEvent) => {
      const ids = authEventIds(stored.event.pdu);
      return createId === undefined || stored.event.id === createId ? ids : [...ids, createId];
    };
    const chain = new Map<string, StoredEvent>();
    let frontier = new Set(starts.flatMap(authIds));
    while (frontier.size > 0) {
      const next = new Set<string>();
      for (const [id, stored] of await this.stores.events.get([...frontier])) {
        if (chain.has(id) || stored.roomId !== roomId) continue;
        chain.set(id, stored);
        for (const authId of authIds(stored)) if (!chain.has(authId)) next.add(authId);
      }
      frontier = next;
    }
    return [...chain.values()];
  }

  /**
   * Events of the room from `start` outwards along prev_events, a layer at a
   * time, deepest first within a layer, until `limit` are found. Events `keep`
   * refuses are neither returned nor walked through; rejected events are walked
   * through but not returned. Marks every ID it queues in `seen`.
   */
  private async walkPrevEvents(
    roomId: string,
    start: string[],
    seen: Set<string>,
    limit: number,
    keep: (stored: StoredEvent) => boolean,
  ): Promise<StoredEvent[]> {
    const found: StoredEvent[] = [];
    let frontier = start;
    while (frontier.length > 0 && found.length < limit) {
      const layer = [...(await this.stores.events.get(frontier)).values()]
        .filter((stored) => stored.roomId === roomId && keep(stored))
        .sort((a, b) => b.depth - a.depth);
      const walked = layer.slice(0, limit - found.length);
      found.push(...walked.filter((stored) => stored.status !== 'rejected'));
      frontier = this.unseenPrevEvents(walked, seen);
    }
    return found;
  }

  /** The prev events of `events` not in `seen`, each once; adds them to `seen`. */
  private unseenPrevEvents(events: readonly StoredEvent[], seen: Set<string>): string[] {
    const ids: string[] = [];
    for (const stored of events) {
      for (const id of prevEventIds(stored.event.pdu)) {
        if (seen.has(id)) continue;
        seen.add(id);
        ids.push(id);
      }
    }
    return ids;
  }

  private async forServer(origin: string, roomId: string, version: RoomVersion, events: readonly StoredEvent[]): Promise<Pdu[]> {
    const visible = await this.access.visibleTo(origin, roomId, events);
    return events.map((stored) => federationPdu(stored, version, visible.has(stored.event.id)));
  }

  private transaction(pdus: Pdu[]): PduTransaction {
    return { origin: this.serverName, origin_server_ts: this.now(), pdus };
  }
}

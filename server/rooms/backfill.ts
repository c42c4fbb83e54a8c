/**
 * Filling gaps in a room's history from other servers (server-server-api,
 * "Backfilling and retrieving missing events"). A gap is a timeline event
 * whose prev events are not in our DAG: the event a server joined the room
 * with, or the far side of a gap /get_missing_events did not close. /messages
 * meets gaps while paging backwards and asks here for the history behind them.
 *
 * The request itself is federation's (a `Backfiller`, connected at start-up
 * with setBackfiller); what comes back is stored as history by
 * RemoteEvents.receiveHistory, with every check on receipt. Servers are asked
 * in turn, most promising first, until one's answer stores something; a gap
 * that none could fill is left alone for a while, so that paging a room whose
 * servers are down costs no request per page.
 */
import { serverNameOf } from '../../spec/auth/context';
import type { Stores } from '../../storage';
import type { Logger } from '../log';
import type { ReceivedEvent, RemoteEvents } from './remote-events';

/** GET /_matrix/federation/v1/backfill/{roomId}: a transaction holding the PDUs. */
export interface BackfillResponse {
  origin?: string;
  origin_server_ts?: number;
  pdus: unknown[];
}

/** The request, which federation/ makes. */
export interface Backfiller {
  /** `GET /backfill/{roomId}?v=…&limit=…` on `server`; rejects when the request fails. */
  backfill(server: string, roomId: string, from: readonly string[], limit: number): Promise<BackfillResponse>;
}

/** A gap: a timeline event and those of its prev events that are not in the DAG. */
export interface Gap {
  eventId: string;
  missing: readonly string[];
}

export interface BackfillOptions {
  /** How long a gap that no server could fill is left alone. */
  retryAfterMs: number;
  /** Servers asked per attempt at most. */
  maxServers: number;
  now: () => number;
}

export const DEFAULT_BACKFILL_OPTIONS: BackfillOptions = { retryAfterMs: 60_000, maxServers: 5, now: Date.now };

/** Events asked for per request at most (also the most a Weft server answers with). */
export const MAX_BACKFILL = 100;
/** Events asked for per request at least, however few a page still needs. */
export const MIN_BACKFILL = 10;
/** Unfillable gaps remembered at most. */
const REMEMBERED_GAPS = 10_000;

export class Backfill {
  private backfiller: Backfiller | undefined;
  /** Gaps no server could fill: when they may be tried again. */
  private readonly unfillable = new Map<string, number>();
  /** Fills under way: concurrent pages meeting the same gap share one. */
  private readonly filling = new Map<string, Promise<boolean>>();

  constructor(
    private readonly stores: Stores,
    private readonly remoteEvents: RemoteEvents,
    private readonly serverName: string,
    private readonly log?: Logger,
    private readonly options: BackfillOptions = DEFAULT_BACKFILL_OPTIONS,
  ) {}

  /** Federation connects its requests here; until then no gap is filled. */
  setBackfiller(backfiller: Backfiller): void {
    this.backfiller = backfiller;
  }

  /** Whether the gap may be tried now: a backfiller is connected and the gap is not one remembered as unfillable. */
  private mayTry(roomId: string, gap: Gap): boolean {
    const retryAt = this.unfillable.get(keyOf(roomId, gap));
    return this.backfiller !== undefined && (retryAt === undefined || retryAt <= this.options.now());
  }

  /**
   * Fetches up to `limit` events (bounded to MIN_BACKFILL..MAX_BACKFILL)
   * behind the gap, the missing prev events included, and stores them as
   * history. Resolves with whether anything new was stored; false at once when
   * the gap may not be tried (mayTry).
   */
  fill(roomId: string, gap: Gap, limit: number): Promise<boolean> {
    if (!this.mayTry(roomId, gap)) return Promise.resolve(false);
    const key = keyOf(roomId, gap);
    let running = this.filling.get(key);
    if (!running) {
      running = this.attempt(roomId, gap, Math.min(MAX_BACKFILL, Math.max(MIN_BACKFILL, limit))).finally(() => this.filling.delete(key));
      this.filling.set(key, running);
    }
    return running;
  }

  private async attempt(roomId: string, gap: Gap, limit: number): Promise<boolean> {
    const backfiller = this.backfiller!;
    for (const server of await this.servers(roomId, gap)) {
      let answer: BackfillResponse;
      try {
        answer = await backfiller.backfill(server, roomId, gap.missing, limit);
      } catch {
        continue;
      }
      const pdus = Array.isArray(answer?.pdus) ? answer.pdus.slice(0, MAX_BACKFILL) : [];
      let outcomes: ReceivedEvent[];
      try {
        outcomes = await this.remoteEvents.receiveHistory(server, roomId, pdus, gap.missing);
      } catch (err) {
        // Whatever in an answer could not be handled is that answer's failure: the next server may do better.
        this.log?.warn({ err, roomId, server }, 'backfill: storing the answer failed');
        continue;
      }
      if (outcomes.some((o) => o.status !== 'dropped' && !o.alreadyStored)) {
        this.unfillable.delete(keyOf(roomId, gap));
        return true;
      }
    }
    this.remember(roomId, gap);
    return false;
  }

  /**
   * The servers to ask, most promising first: the server of the gap event's
   * sender (it had the events when it built it), then the others of the
   * room's joined members, those with more members first. Never this server.
   */
  private async servers(roomId: string, gap: Gap): Promise<string[]> {
    const counts = await this.stores.memberships.joinedServers(roomId);
    const gapEvent = (await this.stores.events.get([gap.eventId])).get(gap.eventId);
    const first = serverNameOf(gapEvent?.event.pdu.sender);
    return [...counts.keys()]
      .filter((server) => server !== this.serverName)
      .sort((a, b) => Number(b === first) - Number(a === first) || counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, this.options.maxServers);
  }

  private remember(roomId: string, gap: Gap): void {
    const key = keyOf(roomId, gap);
    this.unfillable.delete(key);
    this.unfillable.set(key, this.options.now() + this.options.retryAfterMs);
    if (this.unfillable.size > REMEMBERED_GAPS) this.unfillable.delete(this.unfillable.keys().next().value!);
  }
}

const keyOf = (roomId: string, gap: Gap): string => `${roomId} ${gap.eventId}`;

/**
 * Fetching what a received event refers to and we lack, from the server that
 * sent it (server-server-api, "Retrieving event authorisation information",
 * "Backfilling and retrieving missing events", "Retrieving events"): its auth
 * chain, the events between our forward extremities and it, or the state at
 * its prev events. Runs outside the room lock (requests take time); every
 * fetched event passes checks 1-3 here, and its authorisation is checked when
 * it is stored.
 */
import { stateTuple, type StateMap } from '../../spec/pdu';
import type { Stores } from '../../storage';
import { authDependencies, checkReceivedPdu, dagOrder, type CheckedEvent } from './remote-checks';
import type { FederationHooks } from './remote-hooks';
import type { Room } from './event-sender';

/** Bounds on what one received event may make us fetch. */
export interface FetchLimits {
  /** `limit` of the one get_missing_events request made to fill a gap. */
  missingEvents: number;
  /** Events fetched one by one (GET /event) for one received event, in all. */
  fetchedEvents: number;
  /** Requests in flight at once. */
  concurrency: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { missingEvents: 20, fetchedEvents: 5000, concurrency: 8 };

/** Checked events fetched for one received event, to be stored as outliers (unless stored already). */
export type Fetched = Map<string, CheckedEvent>;

export class RemoteFetcher {
  constructor(
    private readonly stores: Stores,
    private readonly hooks: () => FederationHooks,
    private readonly limits: FetchLimits,
  ) {}

  /** Fetches the event's auth events we lack, and theirs: the auth chain (one request), then one by one what it left out. */
  async authEvents(origin: string, room: Room, event: CheckedEvent, into: Fetched): Promise<void> {
    const missing = await this.unknown(authDependencies(event, room.version), into);
    if (missing.length === 0) return;
    const chain = await attempt(() => this.hooks().source.eventAuth(origin, room.roomId, event.id));
    await this.checkAll(Array.isArray(chain?.auth_chain) ? chain.auth_chain : [], room, into);
    await this.closure(origin, room, missing, into);
  }

  /**
   * The state before `eventId` as its server has it (GET /state_ids), with
   * the event itself and every state and auth chain event we lack fetched
   * into `into`. Undefined when the server does not answer or the event
   * cannot be had.
   */
  async stateAt(origin: string, room: Room, eventId: string, into: Fetched): Promise<StateMap | undefined> {
    const answer = await attempt(() => this.hooks().source.stateIds(origin, room.roomId, eventId));
    if (!answer || !isStringArray(answer.pdu_ids) || !isStringArray(answer.auth_chain_ids)) return undefined;
    await this.closure(origin, room, [eventId, ...answer.auth_chain_ids, ...answer.pdu_ids], into);
    const known = await this.stores.events.get([eventId, ...answer.pdu_ids].filter((id) => !into.has(id)));
    if (!into.has(eventId) && !known.has(eventId)) return undefined;
    const state: StateMap = new Map();
    for (const id of answer.pdu_ids) {
      const pdu = into.get(id)?.pdu ?? known.get(id)?.event.pdu;
      if (pdu?.state_key !== undefined) state.set(stateTuple(pdu.type, pdu.state_key), id);
    }
    return state;
  }

  /**
   * The events between our forward extremities and `event` (POST
   * /get_missing_events, one bounded request), checked, parents first; those
   * we hold in the DAG already are left out.
   */
  async missingEvents(origin: string, room: Room, event: CheckedEvent): Promise<CheckedEvent[]> {
    const extremities = await this.stores.events.forwardExtremities(room.roomId);
    const minDepth = extremities.reduce((min, e) => Math.min(min, e.depth), Infinity);
    const answer = await attempt(() =>
      this.hooks().source.getMissingEvents(
        origin,
        room.roomId,
        extremities.map((e) => e.eventId),
        [event.id],
        this.limits.missingEvents,
        Number.isFinite(minDepth) ? minDepth : 0,
      ),
    );
    const found: Fetched = new Map();
    await this.checkAll(Array.isArray(answer?.events) ? answer.events.slice(0, this.limits.missingEvents) : [], room, found);
    found.delete(event.id);
    const stored = await this.stores.events.get([...found.keys()]);
    return dagOrder([...found.values()].filter((e) => (stored.get(e.id)?.status ?? 'outlier') === 'outlier'));
  }

  /** Fetches `ids` we lack one by one, then the auth events of what came back that we lack, within the limit. */
  private async closure(origin: string, room: Room, ids: readonly string[], into: Fetched): Promise<void> {
    let budget = this.limits.fetchedEvents;
    const tried = new Set<string>();
    let wanted = await this.unknown(ids, into);
    while (wanted.length > 0 && budget > 0) {
      const batch = wanted.filter((id) => !tried.has(id)).slice(0, budget);
      if (batch.length === 0) return;
      budget -= batch.length;
      for (const id of batch) tried.add(id);
      const before = new Set(into.keys());
      await forEachLimited(batch, this.limits.concurrency, async (id) => {
        const answer = await attempt(() => this.hooks().source.event(origin, id));
        const pdu = Array.isArray(answer?.pdus) ? answer.pdus[0] : undefined;
        if (pdu === undefined) return;
        const checked = await checkReceivedPdu(pdu, room.roomId, room.version, this.hooks().verifier);
        if (checked.ok && checked.event.id === id) into.set(id, checked.event);
      });
      const added = [...into.values()].filter((e) => !before.has(e.id));
      wanted = await this.unknown(added.flatMap((e) => authDependencies(e, room.version)), into);
    }
  }

  private async checkAll(pdus: readonly unknown[], room: Room, into: Fetched): Promise<void> {
    await forEachLimited(pdus, this.limits.concurrency, async (pdu) => {
      const checked = await checkReceivedPdu(pdu, room.roomId, room.version, this.hooks().verifier);
      if (checked.ok && !into.has(checked.event.id)) into.set(checked.event.id, checked.event);
    });
  }

  /** Those of `ids` neither in `into` nor stored (in any status). */
  private async unknown(ids: readonly string[], into: Fetched): Promise<string[]> {
    const candidates = [...new Set(ids)].filter((id) => !into.has(id));
    const stored = await this.stores.events.get(candidates);
    return candidates.filter((id) => !stored.has(id));
  }
}

/** The answer, or undefined when the request failed: a server that does not answer is a server we go on without. */
async function attempt<T>(request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch {
    return undefined;
  }
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * Accepting events from other servers (server-server-api, "Checks performed
 * on receipt of a PDU"), in order:
 *
 *   1. format (room version event format, sizes)     malformed: dropped, not stored
 *   2. signatures (EventSignatureVerifier)            failing: dropped
 *   3. content hash                                   mismatch: the redacted copy is kept
 *   4. auth rules against its own auth_events         failing: stored as rejected
 *      (missing auth events fetched from the origin: /event_auth, then /event)
 *   5. auth rules against the state before it         failing: stored as rejected
 *      (the resolution of its prev events' states; missing prev events are
 *      fetched with one bounded /get_missing_events, and the state at prev
 *      events still unknown with /state_ids, their events stored as outliers)
 *   6. auth rules against the current state           failing: stored as soft_failed
 *
 * Fetching happens before the room lock is taken; deciding and storing happen
 * under it, in one transaction per received event, or one for all of a
 * transaction's events in a room that need nothing fetched. An accepted event joins
 * the DAG and the timeline, the room's current state becomes the resolution
 * of its forward extremities' states, and after the commit the event is
 * published on the EventBus like a local one. Soft-failed, rejected and
 * outlier events are never published.
 *
 * History (receiveHistory, from /backfill) passes checks 1-5 the same way,
 * but is not news: no check 6, a historical stream ordering, no forward
 * extremity, no current state change, nothing published.
 *
 * A redaction reaches clients only once it applies to an event we hold
 * (rooms/ "Handling redactions"): until then it is withheld, in the DAG
 * without a stream position; the event it redacts releases it on arrival,
 * published after it.
 */
import { authorize, authorizeByAuthEvents } from '../../spec/auth-rules';
import { serverNameOf } from '../../spec/auth/context';
import { badJson, MatrixError } from '../../spec/errors';
import { createEventIdOfRoom } from '../../spec/event-hashes';
import { AuthError, authEventIds, prevEventIds, stateTuple, type Pdu, type RoomEvent, type StateMap } from '../../spec/pdu';
import { CREATE_TUPLE, POWER_LEVELS_TUPLE, PowerLevels } from '../../spec/power-levels';
import { redactedEventId } from '../../spec/redaction';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import { authStateKeys } from '../../spec/state-resolution/auth-selection';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { EventStatus, StoredEvent } from '../../storage/events';
import type { EventBus, PersistedEvent } from './event-bus';
import type { Room } from './event-sender';
import { authDependencies, authOrder, checkReceivedPdu, dagOrder, type CheckedEvent } from './remote-checks';
import { DEFAULT_FETCH_LIMITS, RemoteFetcher, type Fetched, type FetchLimits } from './remote-fetch';
import type { FederationHooks } from './remote-hooks';
import { RemoteState, type StateBefore } from './remote-state';

/** What became of one received PDU. */
export interface ReceivedEvent {
  /** Absent when the PDU was too malformed to have an ID. */
  eventId?: string;
  /** `dropped`: not stored (malformed, bad signatures, unknown room, or the state before it could not be had). */
  status: Exclude<EventStatus, 'outlier'> | 'dropped';
  /** Why it was dropped, rejected or soft-failed. */
  reason?: string;
  /** It was stored before, with this status; nothing changed. */
  alreadyStored?: true;
}

/** A room we are joining, as the resident server's send_join answered (the joins API's shapes). */
export interface RoomSnapshot {
  roomId: string;
  /** The room version, from make_join. */
  version: string;
  /** The state of the room before the join event. */
  state: readonly unknown[];
  /** The auth chain of the state and of the join event. */
  authChain: readonly unknown[];
  /** Our join event, as the resident server signed it. */
  join: unknown;
}

/** An event with the status it was given. */
type Judged = Pick<StoredEvent, 'event' | 'status'>;

/** What decide() works from. */
interface DecideInputs {
  fetched: Fetched;
  prevStates: ReadonlyMap<string, StateMap>;
  /** The state before the event, when known already (a join's send_join state). */
  before?: StateBefore;
  /**
   * The event is history: these stream orderings (ascending, taken in turn as
   * events are accepted, oldest first) place it, and it is not checked
   * against the current state, which it does not change.
   */
  history?: number[];
}

/** Thrown inside the transaction to undo a join whose event was not accepted. */
class JoinNotAccepted extends Error {
  constructor(readonly outcome: ReceivedEvent) {
    super(outcome.reason ?? outcome.status);
  }
}

export class RemoteEvents {
  private hooks: FederationHooks | undefined;
  private readonly fetcher: RemoteFetcher;
  private readonly state: RemoteState;

  constructor(
    private readonly stores: Stores,
    private readonly bus: EventBus,
    limits: FetchLimits = DEFAULT_FETCH_LIMITS,
  ) {
    this.fetcher = new RemoteFetcher(stores, () => this.connected(), limits);
    this.state = new RemoteState(stores);
  }

  /** Federation connects its signature verifier and remote event source here; nothing can be received before. */
  setFederationHooks(hooks: FederationHooks): void {
    this.hooks = hooks;
  }

  /** One PDU from `origin` in a room we know. */
  async receive(origin: string, roomId: string, pdu: unknown): Promise<ReceivedEvent> {
    return (await this.receiveBatch(origin, roomId, [pdu]))[0];
  }

  /**
   * A transaction's PDUs for one room, processed parents first; the outcomes
   * are in the order of `pdus`. A rejected or dropped PDU does not stop the others.
   */
  async receiveBatch(origin: string, roomId: string, pdus: readonly unknown[]): Promise<ReceivedEvent[]> {
    const { verifier } = this.connected();
    const room = await this.room(roomId);
    if (!room) return pdus.map(() => ({ status: 'dropped', reason: 'unknown room' }));
    const checks = await Promise.all(pdus.map((pdu) => checkReceivedPdu(pdu, roomId, room.version, verifier)));
    const passed = checks.flatMap((c) => (c.ok ? [c.event] : []));
    const ordered = dagOrder(new Map(passed.map((e) => [e.id, e])).values());
    const outcomes = await this.decideTogether(room, await this.selfContained(room, ordered));
    for (const event of ordered) {
      if (!outcomes.has(event.id)) outcomes.set(event.id, await this.process(origin, room, event, true));
    }
    return checks.map((c) => (c.ok ? outcomes.get(c.event.id)! : { eventId: c.eventId, status: 'dropped', reason: c.reason }));
  }

  /**
   * Those of `ordered` (parents first) that need nothing fetched: every auth
   * event and prev event is stored (the prev events with their state), or is
   * one of them coming earlier. The common case of a live transaction: each
   * event on the one before.
   */
  private async selfContained(room: Room, ordered: readonly CheckedEvent[]): Promise<CheckedEvent[]> {
    const referenced = ordered.flatMap((e) => [...authDependencies(e, room.version), ...prevEventIds(e.pdu)]);
    const stored = await this.stores.events.get([...new Set(referenced)]);
    const ready = new Set<string>();
    for (const event of ordered) {
      const authKnown = authDependencies(event, room.version).every((id) => ready.has(id) || stored.has(id));
      const prevsKnown = prevEventIds(event.pdu).every((id) => {
        const prev = stored.get(id);
        return ready.has(id) || (prev !== undefined && prev.status !== 'outlier' && prev.stateGroupAfter !== null);
      });
      if (authKnown && prevsKnown) ready.add(event.id);
    }
    return ordered.filter((e) => ready.has(e.id));
  }

  /**
   * Checks 4-6 for `events` (self-contained, parents first) in one
   * transaction, published together after it. An event whose state before it
   * could not be had, and every later one, is left out of the outcomes, to be
   * processed on its own with fetching.
   */
  private async decideTogether(room: Room, events: readonly CheckedEvent[]): Promise<Map<string, ReceivedEvent>> {
    if (events.length === 0) return new Map();
    const published: PersistedEvent[] = [];
    const outcomes = await this.stores.rooms.withLock(room.roomId, async (trx) => {
      const out = new Map<string, ReceivedEvent>();
      for (const event of events) {
        const outcome = await this.decide(trx, room, event, { fetched: new Map(), prevStates: new Map() }, published);
        if (outcome.status === 'dropped') break;
        out.set(event.id, outcome);
      }
      return out;
    });
    await this.announce(published);
    return outcomes;
  }

  /**
   * History a server answered /backfill with, for `wanted` (the prev events
   * behind a gap, the `v` of the request). Of `pdus`, only `wanted` and their
   * ancestors through prev_events within `pdus` are taken, parents first; the
   * rest is dropped (a backfill answer has no business elsewhere in the DAG).
   * Ancestry goes through events dropped for their signatures too, so one
   * forged event drops itself, not the history behind it.
   * Each passes checks 1-5 as any received event does, except that the limits
   * on the number of prev and auth events do not apply (backfill.yaml): auth
   * events we lack are fetched from `origin`, and the state before the
   * batch's oldest events, whose prev events we lack, comes from /state_ids
   * there, as for a gap. Then, as history: no check against the current
   * state, historical stream orderings (below every live one: /sync never
   * sees them; /messages places them by depth), no forward extremities, no
   * current state change, nothing published (no /sync, no push). The batch
   * is stored in one transaction. Outcomes in the order of `pdus`.
   */
  async receiveHistory(origin: string, roomId: string, pdus: readonly unknown[], wanted: readonly string[]): Promise<ReceivedEvent[]> {
    const { verifier } = this.connected();
    const room = await this.room(roomId);
    if (!room) return pdus.map(() => ({ status: 'dropped', reason: 'unknown room' }));
    const checks = await Promise.all(pdus.map((pdu) => checkReceivedPdu(pdu, roomId, room.version, verifier, { limitReferences: false })));
    const passed = new Map<string, CheckedEvent>();
    // Every event well-formed enough to have an ID links its prev events, whatever its other checks said.
    const links = new Map<string, string[]>();
    checks.forEach((c, i) => {
      if (c.ok) passed.set(c.event.id, c.event);
      if (c.ok || c.eventId !== undefined) links.set(c.ok ? c.event.id : c.eventId!, prevEventIds(pdus[i] as Pdu));
    });
    const taken = [...ancestorsWithin(links, wanted)].flatMap((id) => passed.get(id) ?? []);
    const stored = await this.stores.events.get(taken.map((e) => e.id));
    const batch = dagOrder(taken.filter((e) => (stored.get(e.id)?.status ?? 'outlier') === 'outlier'));

    // Outside the lock: auth events we lack, and the state at prev events neither in the batch nor in the DAG.
    const inBatch = new Set(batch.map((e) => e.id));
    const pool: Fetched = new Map(batch.map((e) => [e.id, e]));
    for (const event of batch) await this.fetcher.authEvents(origin, room, event, pool);
    const prevStates = new Map<string, StateMap>();
    for (const id of await this.prevsWithoutState([...new Set(batch.flatMap((e) => prevEventIds(e.pdu)))].filter((id) => !inBatch.has(id)))) {
      const state = await this.fetcher.stateAt(origin, room, id, pool);
      if (state) prevStates.set(id, state);
    }
    const fetched: Fetched = new Map([...pool].filter(([id]) => !inBatch.has(id)));

    // History is not published, but redactions it completes are: they are news.
    const released: PersistedEvent[] = [];
    const decided = batch.length === 0 ? new Map<string, ReceivedEvent>() : await this.stores.rooms.withLock(roomId, async (trx) => {
      await this.storeOutliers(trx, room, fetched);
      const history = await this.stores.events.reserveHistoricalOrderings(trx, batch.length);
      const out = new Map<string, ReceivedEvent>();
      for (const event of batch) out.set(event.id, await this.decide(trx, room, event, { fetched: new Map(), prevStates, history }, released));
      return out;
    });
    await this.announce(released);
    return checks.map((c): ReceivedEvent => {
      if (!c.ok) return { eventId: c.eventId, status: 'dropped', reason: c.reason };
      const known = stored.get(c.event.id);
      if (known && known.status !== 'outlier') return { eventId: c.event.id, status: known.status, alreadyStored: true };
      return decided.get(c.event.id) ?? { eventId: c.event.id, status: 'dropped', reason: 'not among the events asked for or before them' };
    });
  }

  /**
   * Makes a room we join through another server start from the state it gave
   * (send_join): every state and auth chain event passes checks 1-4 and is
   * stored as an outlier, the state becomes a state group, and the join event
   * is checked against its auth events and that state and accepted on top of
   * it, becoming the room's first forward extremity. Creates the room if it
   * is new to us. Our own view of the room's current state, if any (from
   * before we left, or an invite's), is not consulted (no check 6). Nothing
   * is stored unless the join event is accepted.
   */
  async acceptRoomState(origin: string, snapshot: RoomSnapshot): Promise<ReceivedEvent> {
    const { verifier } = this.connected();
    const version = roomVersion(snapshot.version);
    if (!version) throw badJson(`unsupported room version ${snapshot.version}`);
    const room: Room = { roomId: snapshot.roomId, version };
    const join = await checkReceivedPdu(snapshot.join, room.roomId, version, verifier);
    if (!join.ok) return { eventId: join.eventId, status: 'dropped', reason: join.reason };

    const fetched: Fetched = new Map();
    const stateIds: string[] = [];
    for (const [pdus, isState] of [[snapshot.state, true], [snapshot.authChain, false]] as const) {
      const checks = await Promise.all(pdus.map((pdu) => checkReceivedPdu(pdu, room.roomId, version, verifier)));
      for (const c of checks) {
        if (!c.ok) continue;
        fetched.set(c.event.id, c.event);
        if (isState) stateIds.push(c.event.id);
      }
    }
    // The auth chain may lack something the state or join needs: the same fetching as for any received event.
    await this.fetcher.authEvents(origin, room, join.event, fetched);

    const published: PersistedEvent[] = [];
    try {
      const outcome = await this.stores.rooms.withLock(room.roomId, async (trx) => {
        const existing = await this.stores.rooms.get(room.roomId, trx);
        if (!existing) await this.stores.rooms.create(room.roomId, version.id, trx);
        else if (existing.version !== version.id) throw badJson(`room ${room.roomId} has version ${existing.version}, not ${version.id}`);
        await this.storeOutliers(trx, room, fetched);
        const state = await this.snapshotState(trx, room, stateIds);
        const before = { group: await this.state.groupFor(trx, room, state) };
        const result = await this.decide(trx, room, join.event, { fetched: new Map(), prevStates: new Map(), before }, published);
        if (result.status !== 'accepted') throw new JoinNotAccepted(result);
        return result;
      });
      await this.announce(published);
      return outcome;
    } catch (err) {
      if (err instanceof JoinNotAccepted) return err.outcome;
      throw err;
    }
  }

  private connected(): FederationHooks {
    if (!this.hooks) throw new Error('remote events: federation has not connected its hooks (RemoteEvents.setFederationHooks)');
    return this.hooks;
  }

  private async room(roomId: string): Promise<Room | undefined> {
    const row = await this.stores.rooms.get(roomId);
    const version = row && roomVersion(row.version);
    return version && { roomId, version };
  }

  /**
   * Checks 4-6 for one event that passed 1-3. First, outside the lock, fetches
   * what it refers to and we lack: its auth chain; with `fillGaps`, the
   * events between our extremities and it (each processed in turn, without
   * filling gaps of their own); the state at prev events still unknown.
   */
  private async process(origin: string, room: Room, event: CheckedEvent, fillGaps: boolean): Promise<ReceivedEvent> {
    const known = (await this.stores.events.get([event.id])).get(event.id);
    if (known && known.status !== 'outlier') return { eventId: event.id, status: known.status, alreadyStored: true };

    const fetched: Fetched = new Map();
    await this.fetcher.authEvents(origin, room, event, fetched);
    const prevIds = [...new Set(prevEventIds(event.pdu))];
    let unknownPrevs = await this.prevsWithoutState(prevIds);
    if (unknownPrevs.length > 0 && fillGaps) {
      for (const missing of await this.fetcher.missingEvents(origin, room, event)) await this.process(origin, room, missing, false);
      unknownPrevs = await this.prevsWithoutState(prevIds);
    }
    const prevStates = new Map<string, StateMap>();
    for (const id of unknownPrevs) {
      const state = await this.fetcher.stateAt(origin, room, id, fetched);
      if (state) prevStates.set(id, state);
    }

    const published: PersistedEvent[] = [];
    const outcome = await this.stores.rooms.withLock(room.roomId, (trx) => this.decide(trx, room, event, { fetched, prevStates }, published));
    await this.announce(published);
    return outcome;
  }

  /** The prev events whose state after them we do not know: not stored, outliers, or rejected without a state. */
  private async prevsWithoutState(ids: readonly string[]): Promise<string[]> {
    const stored = await this.stores.events.get(ids);
    return ids.filter((id) => {
      const prev = stored.get(id);
      return !prev || prev.status === 'outlier' || prev.stateGroupAfter === null;
    });
  }

  /** Under the room lock: store what was fetched, run checks 4-6, store the event, move the current state. */
  private async decide(trx: Db, room: Room, event: CheckedEvent, inputs: DecideInputs, published: PersistedEvent[]): Promise<ReceivedEvent> {
    await this.storeOutliers(trx, room, inputs.fetched);
    // The event, its auth events and its prev events, in one read.
    const prevIds = prevEventIds(event.pdu);
    const stored = await this.stores.events.get([event.id, ...authDependencies(event, room.version), ...prevIds], trx);
    const known = stored.get(event.id);
    if (known && known.status !== 'outlier') return { eventId: event.id, status: known.status, alreadyStored: true };

    const authFailure = this.authFailureAmong(room, event, stored);
    const before = inputs.before ?? (await this.state.stateBefore(trx, room, prevIds, inputs.prevStates, stored));
    if (!before) {
      if (authFailure !== undefined) return this.store(trx, room, event, 'rejected', undefined, authFailure, published);
      return { eventId: event.id, status: 'dropped', reason: 'the state before the event could not be had' };
    }
    if (authFailure !== undefined) return this.store(trx, room, event, 'rejected', before, authFailure, published);

    const keys = authStateKeys(event.pdu, room.version);
    const beforeFailure = failureOf(event, await this.state.events(trx, before, keys), room.version);
    if (beforeFailure !== undefined) return this.store(trx, room, event, 'rejected', before, `state before the event: ${beforeFailure}`, published);
    if (inputs.history) {
      const ordering = inputs.history.shift();
      if (ordering === undefined) throw new Error('remote events: more history accepted than orderings reserved');
      return this.store(trx, room, event, 'accepted', before, undefined, published, ordering);
    }

    // A join from send_join is checked against the resident's state only: ours is stale (we left) or partial (an invite).
    const current = inputs.before ? null : await this.stores.roomState.currentStateGroup(room.roomId, trx);
    const currentFailure = current === null || current === before.group
      ? undefined
      : failureOf(event, await this.stores.roomState.currentStateEvents(room.roomId, keys, trx), room.version);
    if (currentFailure !== undefined) return this.store(trx, room, event, 'soft_failed', before, `current state: ${currentFailure}`, published);
    return this.store(trx, room, event, 'accepted', before, undefined, published);
  }

  private async store(
    trx: Db,
    room: Room,
    event: CheckedEvent,
    status: Exclude<EventStatus, 'outlier'>,
    before: StateBefore | undefined,
    reason: string | undefined,
    published: PersistedEvent[],
    historicalOrdering?: number,
  ): Promise<ReceivedEvent> {
    const accepted = status === 'accepted';
    const redacted = accepted ? redactedEventId(event.pdu, room.version) : undefined;
    const redacts = redacted !== undefined && (await this.redactionApplies(trx, room, event, before?.group ?? null, redacted));
    const persisted = await this.stores.events.persist(trx, {
      event: { id: event.id, pdu: event.pdu },
      roomId: room.roomId,
      status,
      ...(reason === undefined ? {} : { rejectionReason: reason.slice(0, 500) }),
      stateGroupBefore: before?.group,
      ...(historicalOrdering === undefined ? {} : { historicalOrdering }),
      ...(redacted !== undefined && !redacts && { withheld: true }),
    });
    if (!accepted) return { eventId: event.id, status, ...(reason === undefined ? {} : { reason }) };
    if (redacts) await this.stores.events.setRedactedBy(trx, redacted, event.id);
    if (historicalOrdering === undefined) {
      await this.state.updateCurrentState(trx, room);
      if (persisted.streamOrdering !== null) await this.announceLater(trx, published, { id: event.id, pdu: event.pdu }, room, persisted.streamOrdering);
    }
    await this.applyWaitingRedactions(trx, room, event.id, published);
    return { eventId: event.id, status };
  }

  /**
   * Redactions take effect once both events are here and the redaction's
   * sender is of the redacted event's server or has the redact level
   * (rooms/ "Handling redactions"; in versions 1-2 the auth rules already
   * checked it). Until then the redaction is withheld from clients: it is
   * stored in the DAG without a stream position.
   */
  private async redactionApplies(trx: Db, room: Room, redaction: RoomEvent, stateGroupBefore: number | null, targetId: string): Promise<boolean> {
    const target = (await this.stores.events.get([targetId], trx)).get(targetId);
    if (!target || target.roomId !== room.roomId || target.status === 'rejected') return false;
    const sender = redaction.pdu.sender;
    if (room.version.redactionAuthRule || serverNameOf(sender) === serverNameOf(target.event.pdu.sender)) return true;
    if (stateGroupBefore === null) return false;
    const levels = PowerLevels.fromState(await this.state.events(trx, { group: stateGroupBefore }, [CREATE_TUPLE, POWER_LEVELS_TUPLE]), room.version);
    return levels.user(sender) >= levels.named('redact');
  }

  /** Applies the redactions of `eventId` that arrived before it, releasing to clients those that were withheld. */
  private async applyWaitingRedactions(trx: Db, room: Room, eventId: string, published: PersistedEvent[]): Promise<void> {
    const ids = await this.stores.events.redactionsOf(eventId, trx);
    if (ids.length === 0) return;
    const redactions = await this.stores.events.get(ids, trx);
    for (const id of ids) {
      const redaction = redactions.get(id)!;
      if (!(await this.redactionApplies(trx, room, redaction.event, redaction.stateGroupBefore, eventId))) continue;
      await this.stores.events.setRedactedBy(trx, eventId, id);
      if (redaction.streamOrdering === null) await this.announceLater(trx, published, redaction.event, room, await this.stores.events.release(trx, id));
    }
  }

  /** Hands a live event to the bus's in-transaction hooks, to be published after the commit. */
  private async announceLater(trx: Db, published: PersistedEvent[], event: RoomEvent, room: Room, streamOrdering: number): Promise<void> {
    const announced = { event, roomId: room.roomId, streamOrdering };
    await this.bus.persisting(trx, announced);
    published.push(announced);
  }

  /**
   * Stores fetched events we lack, auth events first, each as an outlier when
   * it passes the auth rules against its own auth events, else as rejected.
   */
  private async storeOutliers(trx: Db, room: Room, fetched: Fetched): Promise<void> {
    if (fetched.size === 0) return;
    const stored = await this.stores.events.get([...fetched.keys()], trx);
    const pending = authOrder([...fetched.values()].filter((e) => !stored.has(e.id)), room.version);
    // One read for every auth event the batch refers to (a joined room's state may be thousands of events).
    const known: Map<string, Judged> = await this.stores.events.get([...new Set(pending.flatMap((e) => authDependencies(e, room.version)))], trx);
    for (const event of pending) {
      const failure = this.authFailureAmong(room, event, known);
      const status = failure === undefined ? 'outlier' : 'rejected';
      await this.stores.events.persist(trx, {
        event: { id: event.id, pdu: event.pdu },
        roomId: room.roomId,
        status,
        ...(failure === undefined ? {} : { rejectionReason: failure.slice(0, 500) }),
      });
      known.set(event.id, { event, status });
    }
  }

  /** Check 4: why the event fails the auth rules against its own auth events (those of `known`), if it does. */
  private authFailureAmong(room: Room, event: RoomEvent, known: ReadonlyMap<string, Judged>): string | undefined {
    const createId = room.version.eventFormat === 'v12' ? createEventIdOfRoom(room.roomId, room.version) : undefined;
    const create = createId === undefined ? undefined : known.get(createId);
    if (create?.status === 'rejected') return "auth events: the room's m.room.create event was rejected";
    const authEvents = authEventIds(event.pdu).flatMap((id) => {
      const found = known.get(id);
      return found ? [found.event] : [];
    });
    try {
      authorizeByAuthEvents(event, authEvents, room.version, {
        create: create?.event,
        isRejected: (id) => known.get(id)?.status === 'rejected',
      });
      return undefined;
    } catch (err) {
      if (err instanceof AuthError) return err.message;
      throw err;
    }
  }

  /** The state a send_join answer gave, from the events of it that were stored and not rejected. */
  private async snapshotState(trx: Db, room: Room, stateIds: readonly string[]): Promise<StateMap> {
    const stored = await this.stores.events.get(stateIds, trx);
    const state: StateMap = new Map();
    for (const id of stateIds) {
      const event = stored.get(id);
      if (event && event.status !== 'rejected' && event.event.pdu.state_key !== undefined) {
        state.set(stateTuple(event.event.pdu.type, event.event.pdu.state_key), id);
      }
    }
    const createId = state.get(CREATE_TUPLE);
    if (createId === undefined) throw new MatrixError(502, 'M_UNKNOWN', 'the room state has no usable m.room.create event');
    const implied = createEventIdOfRoom(room.roomId, room.version);
    if (implied !== undefined && implied !== createId) throw new MatrixError(502, 'M_UNKNOWN', 'the room state has another room\'s m.room.create event');
    return state;
  }

  /** Publishes committed events once readers can read them, as EventSender does. */
  private async announce(published: readonly PersistedEvent[]): Promise<void> {
    if (published.length === 0) return;
    await this.stores.events.positions.caughtUp();
    for (const p of published) this.bus.publish(p);
  }
}

/** Those of the events `prevs` holds (event ID → its prev events) that are `wanted` or their ancestors among them. */
function ancestorsWithin(prevs: ReadonlyMap<string, readonly string[]>, wanted: readonly string[]): Set<string> {
  const out = new Set<string>();
  const queue = [...wanted];
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    const parents = prevs.get(id);
    if (!parents || out.has(id)) continue;
    out.add(id);
    queue.push(...parents);
  }
  return out;
}

/** Why the auth rules refuse the event against `state`, if they do. */
function failureOf(event: RoomEvent, state: Parameters<typeof authorize>[1], version: RoomVersion): string | undefined {
  try {
    authorize(event, state, version);
    return undefined;
  } catch (err) {
    if (err instanceof AuthError) return err.message;
    throw err;
  }
}

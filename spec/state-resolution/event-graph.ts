/**
 * The events one state resolution reads, fetched through the caller's
 * EventSource in batches and kept for the rest of the call, with the auth
 * graph questions the algorithms ask of them.
 */
import { authEventIds, stateTuple, type Pdu, type RoomEvent, type StateTuple } from '../pdu';
import type { RoomVersion } from '../room-versions';
import type { EventSource } from './index';

export class EventGraph {
  private readonly events = new Map<string, RoomEvent>();
  private readonly requested = new Set<string>();
  /** Events whose auth chain has been (or is being) fetched. */
  private readonly closed = new Set<string>();
  private readonly authIdsMemo = new Map<string, readonly string[]>();
  private readonly authByKeyMemo = new Map<string, ReadonlyMap<StateTuple, RoomEvent>>();

  constructor(
    private readonly source: EventSource,
    readonly version: RoomVersion,
  ) {}

  /** Fetches, in one batch, those of `ids` not asked for before. */
  async load(ids: Iterable<string>): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.requested.has(id));
    if (wanted.length === 0) return;
    for (const id of wanted) this.requested.add(id);
    const found = await this.source.get(wanted);
    for (const id of wanted) {
      const event = found.get(id);
      if (event !== undefined) this.events.set(id, event);
    }
  }

  /**
   * Fetches `ids` and everything reachable from them through auth_events
   * (plus, from room version 12, the create event each one implies), one
   * batch per step outwards.
   */
  async loadAuthClosure(ids: Iterable<string>): Promise<void> {
    let frontier = [...new Set(ids)].filter((id) => !this.closed.has(id));
    while (frontier.length > 0) {
      for (const id of frontier) this.closed.add(id);
      await this.load(frontier);
      const next = new Set<string>();
      for (const id of frontier) {
        for (const authId of this.authIdsWithImpliedCreate(id)) {
          if (!this.closed.has(authId)) next.add(authId);
        }
      }
      frontier = [...next];
    }
  }

  event(id: string): RoomEvent | undefined {
    return this.events.get(id);
  }

  /** The event's auth_events, each once; empty if the event is unknown. */
  authIds(id: string): readonly string[] {
    let ids = this.authIdsMemo.get(id);
    if (ids === undefined) {
      const event = this.events.get(id);
      ids = event === undefined ? [] : [...new Set(authEventIds(event.pdu))];
      this.authIdsMemo.set(id, ids);
    }
    return ids;
  }

  /** The event's auth_events, plus from room version 12 the create event its room ID names. */
  authIdsWithImpliedCreate(id: string): readonly string[] {
    const event = this.events.get(id);
    const implied = event === undefined ? undefined : this.impliedCreateId(event.pdu);
    const ids = this.authIds(id);
    return implied === undefined || ids.includes(implied) ? ids : [...ids, implied];
  }

  /**
   * The union of the auth chains of `starts`: every fetched event reachable
   * through one or more auth_events links. Events in `stop` are neither
   * included nor walked through (the caller knows their chains already).
   */
  authChain(starts: Iterable<string>, stop?: ReadonlySet<string>): Set<string> {
    const chain = new Set<string>();
    const pending: string[] = [];
    const visit = (id: string): void => {
      for (const authId of this.authIds(id)) {
        if (chain.has(authId) || stop?.has(authId) || !this.events.has(authId)) continue;
        chain.add(authId);
        pending.push(authId);
      }
    };
    for (const id of starts) visit(id);
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) visit(next);
    return chain;
  }

  /**
   * The event's fetched auth events by (type, state_key), the first of any
   * duplicates, plus from room version 12 the create event its room ID names.
   */
  authEventsByKey(id: string): ReadonlyMap<StateTuple, RoomEvent> {
    let byKey = this.authByKeyMemo.get(id);
    if (byKey === undefined) {
      const found = new Map<StateTuple, RoomEvent>();
      for (const authId of this.authIdsWithImpliedCreate(id)) {
        const authEvent = this.events.get(authId);
        if (authEvent === undefined || authEvent.pdu.state_key === undefined) continue;
        const key = stateTuple(authEvent.pdu.type, authEvent.pdu.state_key);
        if (!found.has(key)) found.set(key, authEvent);
      }
      byKey = found;
      this.authByKeyMemo.set(id, byKey);
    }
    return byKey;
  }

  /** From room version 12 the create event is not in auth_events: its ID is the room ID with `$` for `!`. */
  private impliedCreateId(pdu: Pdu): string | undefined {
    if (this.version.eventFormat !== 'v12' || pdu.type === 'm.room.create') return undefined;
    return typeof pdu.room_id === 'string' && pdu.room_id.startsWith('!') ? `$${pdu.room_id.slice(1)}` : undefined;
  }

  /** Which of `ids` the server rejected, if the source says. */
  async rejectedAmong(ids: Iterable<string>): Promise<ReadonlySet<string>> {
    const unique = [...new Set(ids)];
    if (this.source.rejected === undefined || unique.length === 0) return new Set();
    return this.source.rejected(unique);
  }
}

/**
 * Room state where events from other servers meet: the state before a
 * received event (the resolution of its prev events' states), and the room's
 * current state (the resolution of its forward extremities' states), each by
 * the room version's state resolution algorithm over stored state groups.
 *
 * Incremental where it can be: one prev event (or several sharing a state
 * group) means no resolution at all, and the current state is recomputed only
 * when the set of the extremities' state groups changed; resolutions of the
 * same set of groups are remembered (groups are immutable, so the result is too).
 */
import { authorize } from '../../spec/auth-rules';
import { stateTuple, type RoomEvent, type StateEvents, type StateMap, type StateTuple } from '../../spec/pdu';
import { resolveState, type EventSource } from '../../spec/state-resolution';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { StoredEvent } from '../../storage/events';
import { whenSettled } from '../../storage/transactions';
import type { Room } from './event-sender';

/** The state before an event: a stored group, or null for the empty state (the create event). */
export interface StateBefore {
  group: number | null;
}

/** How many resolutions of sets of state groups to remember. */
const REMEMBERED_RESOLUTIONS = 1024;

export class RemoteState {
  private readonly resolved = new Map<string, number>();

  constructor(private readonly stores: Stores) {}

  /**
   * The state before an event with these prev events: each prev event's state
   * after, from its state group when it has one, else from `fetched` (the
   * state before it that its server gave, to which the prev event itself is
   * added unless it was rejected). Undefined when a prev event's state is
   * unknown. Entries naming events that are not stored, or were rejected, are
   * left out of fetched states. `stored`: the prev events, if the caller has
   * just read them.
   */
  async stateBefore(
    trx: Db,
    room: Room,
    prevIds: readonly string[],
    fetched: ReadonlyMap<string, StateMap>,
    stored?: ReadonlyMap<string, StoredEvent>,
  ): Promise<StateBefore | undefined> {
    const unique = [...new Set(prevIds)];
    if (unique.length === 0) return { group: null };
    stored ??= await this.stores.events.get(unique, trx);
    const groups: number[] = [];
    const maps: StateMap[] = [];
    for (const id of unique) {
      const prev = stored.get(id);
      if (prev && prev.status !== 'outlier' && prev.stateGroupAfter !== null) groups.push(prev.stateGroupAfter);
      else {
        const before = fetched.get(id);
        if (before === undefined) return undefined;
        const after = new Map(before);
        if (prev && prev.status !== 'rejected' && prev.event.pdu.state_key !== undefined) {
          after.set(stateTuple(prev.event.pdu.type, prev.event.pdu.state_key), id);
        }
        maps.push(await this.usable(trx, after));
      }
    }
    const distinct = [...new Set(groups)];
    if (maps.length === 0 && distinct.length === 1) return { group: distinct[0] };
    if (maps.length === 0) return { group: await this.resolveGroups(trx, room, distinct) };
    const states = [...(await Promise.all(distinct.map((g) => this.stores.stateGroups.read(g, trx)))), ...maps];
    const state = await resolveState(room.version, states, this.source(trx), authorize);
    return { group: await this.stores.stateGroups.createFromState(trx, room.roomId, state, distinct) };
  }

  /** Sets the room's current state to the resolution of its forward extremities' states. */
  async updateCurrentState(trx: Db, room: Room): Promise<void> {
    const extremities = await this.stores.events.forwardExtremities(room.roomId, trx);
    const groups = [...new Set(extremities.map((e) => e.stateGroupAfter).filter((g): g is number => g !== null))];
    if (groups.length === 0) return;
    const group = groups.length === 1 ? groups[0] : await this.resolveGroups(trx, room, groups);
    await this.stores.roomState.setCurrentState(trx, room.roomId, group);
  }

  /** The events of `state` the auth rules read for `keys`. */
  async events(trx: Db, state: StateBefore | StateMap, keys: readonly StateTuple[]): Promise<StateEvents> {
    // Only the entries asked for: a large room's whole state is never composed for one check.
    const lookup = async (key: StateTuple): Promise<string | undefined> => {
      if (state instanceof Map) return state.get(key);
      return state.group === null ? undefined : this.stores.stateGroups.entry(state.group, key, trx);
    };
    const ids = await Promise.all(keys.map(lookup));
    const wanted = keys.map((key, i) => [key, ids[i]] as const).filter((entry): entry is readonly [StateTuple, string] => entry[1] !== undefined);
    const found = await this.stores.events.get(wanted.map(([, id]) => id), trx);
    const out: StateEvents = new Map();
    for (const [key, id] of wanted) {
      const stored = found.get(id);
      if (stored) out.set(key, stored.event);
    }
    return out;
  }

  /** A state group holding `state` (entries not stored or rejected left out), stored against the closest of `candidates`. */
  async groupFor(trx: Db, room: Room, state: StateMap, candidates: readonly number[] = []): Promise<number> {
    return this.stores.stateGroups.createFromState(trx, room.roomId, await this.usable(trx, state), candidates);
  }

  /** Stored events for state resolution; rejected ones are known as such. */
  source(trx: Db): EventSource {
    const events = this.stores.events.source(trx);
    return {
      get: (ids) => events.get(ids),
      rejected: (ids) => this.stores.events.rejectedAmong(ids, trx),
    };
  }

  /** The resolution of several groups' states as a group, remembered per set of groups. */
  private async resolveGroups(trx: Db, room: Room, groups: readonly number[]): Promise<number> {
    const key = `${room.roomId} ${[...groups].sort((a, b) => a - b).join(',')}`;
    const known = this.resolved.get(key);
    if (known !== undefined) return known;
    const states = await Promise.all(groups.map((g) => this.stores.stateGroups.read(g, trx)));
    const state = await resolveState(room.version, states, this.source(trx), authorize);
    const group = await this.stores.stateGroups.createFromState(trx, room.roomId, state, groups);
    whenSettled(trx, () => {
      this.resolved.set(key, group);
      if (this.resolved.size > REMEMBERED_RESOLUTIONS) this.resolved.delete(this.resolved.keys().next().value!);
    });
    return group;
  }

  /** `state` without entries whose event is not stored, was rejected, or is not the state event the key says. */
  private async usable(trx: Db, state: StateMap): Promise<StateMap> {
    const stored = await this.stores.events.get([...new Set(state.values())], trx);
    const out: StateMap = new Map();
    for (const [key, id] of state) {
      const event: RoomEvent | undefined = stored.get(id)?.event;
      if (!event || stored.get(id)!.status === 'rejected' || event.pdu.state_key === undefined) continue;
      if (stateTuple(event.pdu.type, event.pdu.state_key) === key) out.set(key, id);
    }
    return out;
  }
}

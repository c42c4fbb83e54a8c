/**
 * State groups: immutable room states, each stored as a difference from a base
 * group, with a full snapshot at the root of every chain. docs/state-storage.md
 * describes the scheme and its bounds; in short:
 *
 * - A group at height h (its distance from the snapshot along its parents) is
 *   stored as its difference from the ancestor at height h & (h - 1), h with
 *   its lowest set bit cleared. Reading a group follows base links to the
 *   snapshot: at most 1 + popcount(h) rows, and h < MAX_HEIGHT.
 * - A new group becomes a snapshot when a read of it would cost more entries
 *   than the state holds, or at MAX_HEIGHT.
 * - Groups are immutable, so resolved rows are cached (after their transaction
 *   commits), bounded by the number of entries they hold.
 */
import { splitStateTuple, stateTuple, type StateMap, type StateTuple } from '../spec/pdu';
import type { Db } from './db';
import type { RoomStore } from './rooms';
import type { Knex } from 'knex';
import { listOf, outermost, whenSettled } from './transactions';
import { WeightedLru } from './weighted-lru';

/** A state entry's event: its number and ID. */
export interface StateRef {
  nid: number;
  id: string;
}

/** Changes to a state: (type, state key) → the event now holding it, or null to remove it. */
export type StateDelta = Map<StateTuple, string | null>;

/** A stored group, resolved: its changes from its base (or, for a snapshot, the whole state). */
interface Group {
  id: number;
  baseId: number | null;
  height: number;
  size: number;
  changes: Map<StateTuple, StateRef | null>;
}

/** A group followed by its bases down to the snapshot. */
type Chain = Group[];

/** Chains never reach this height: reads stay within 1 + log2(MAX_HEIGHT) rows. */
export const MAX_HEIGHT = 1 << 16;

export interface StateGroupOptions {
  /** Bound on the entries held by the cache of resolved groups. */
  cacheEntries?: number;
  /** A power of two; MAX_HEIGHT unless a test wants short chains. */
  maxHeight?: number;
}

export class UnknownStateGroupError extends Error {}

interface Raw {
  id: number;
  base_id: number | null;
  height: number;
  size: number;
  entries: string;
  removed: string | null;
}

/** The value a chain gives `key`: the change nearest its top, else absent. */
function lookup(chain: Chain, key: StateTuple): StateRef | null {
  for (const group of chain) {
    const change = group.changes.get(key);
    if (change !== undefined) return change;
  }
  return null;
}

function compose(chain: Chain): Map<StateTuple, StateRef> {
  const state = new Map<StateTuple, StateRef>();
  for (let i = chain.length - 1; i >= 0; i--) {
    for (const [key, ref] of chain[i].changes) {
      if (ref === null) state.delete(key);
      else state.set(key, ref);
    }
  }
  return state;
}

export class StateGroupStore {
  private readonly cache: WeightedLru<number, Group>;
  /** Chains assembled lately: the same few groups are looked up by every member an event wakes. */
  private readonly chains = new RecentChains();
  /** Groups read or written inside a transaction, cached once it commits. */
  private readonly uncommitted = new WeakMap<Knex.Transaction, Map<number, Group>>();
  private readonly maxHeight: number;

  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
    options: StateGroupOptions = {},
  ) {
    this.cache = new WeightedLru(options.cacheEntries ?? 50_000, (group) => group.changes.size + 1);
    this.maxHeight = options.maxHeight ?? MAX_HEIGHT;
  }

  /**
   * The group for `parent`'s state changed by `delta` (null parent: the empty
   * state). Returns `parent` itself when the delta changes nothing. Every event
   * the delta names must be a stored state event with the matching type and key.
   */
  async create(trx: Db, roomId: string, parent: number | null, delta: StateDelta): Promise<number> {
    const chain = parent === null ? [] : await this.chain(parent, trx);
    const refs = await this.refsFor(delta, trx);
    const changes = new Map<StateTuple, StateRef | null>();
    let size = chain.length > 0 ? chain[0].size : 0;
    for (const [key, eventId] of delta) {
      const current = lookup(chain, key);
      if (eventId === null) {
        if (current === null) continue;
        changes.set(key, null);
        size -= 1;
      } else if (current?.id !== eventId) {
        changes.set(key, refs.get(eventId)!);
        if (current === null) size += 1;
      }
    }
    if (parent !== null && changes.size === 0) return parent;

    const roomNid = await this.rooms.nid(roomId, trx);
    const height = chain.length > 0 ? chain[0].height + 1 : 0;
    if (height === 0 || height >= this.maxHeight) return this.insertSnapshot(trx, roomNid, chain, changes);

    // The base is the ancestor at height h & (h - 1); it is on the parent's chain,
    // and the parent's changes above it, then ours, make the new group's difference.
    const baseHeight = height & (height - 1);
    const baseIndex = chain.findIndex((group) => group.height === baseHeight);
    const difference = new Map<StateTuple, StateRef | null>();
    for (let i = baseIndex - 1; i >= 0; i--) for (const [key, ref] of chain[i].changes) difference.set(key, ref);
    for (const [key, ref] of changes) difference.set(key, ref);

    let readCost = difference.size;
    for (let i = baseIndex; i < chain.length - 1; i++) readCost += chain[i].changes.size;
    if (readCost > size) return this.insertSnapshot(trx, roomNid, chain, changes);

    return this.insert(trx, roomNid, { baseId: chain[baseIndex].id, height, size, changes: difference });
  }

  /**
   * A group holding exactly `state`, stored against whichever of `candidates`
   * (groups of the same room, e.g. the states of the prev events a resolution
   * merged) it differs from least; a snapshot when there are none. Returns a
   * candidate itself when it already holds `state`.
   */
  async createFromState(trx: Db, roomId: string, state: StateMap, candidates: readonly number[]): Promise<number> {
    let best: { group: number | null; delta: StateDelta } = { group: null, delta: state };
    for (const candidate of new Set(candidates)) {
      const delta = difference(await this.read(candidate, trx), state);
      if (best.group === null || delta.size < best.delta.size) best = { group: candidate, delta };
      if (delta.size === 0) break;
    }
    return this.create(trx, roomId, best.group, best.delta);
  }

  async read(group: number, db: Db = this.db): Promise<StateMap> {
    const state: StateMap = new Map();
    for (const [key, ref] of compose(await this.chain(group, db))) state.set(key, ref.id);
    return state;
  }

  /** The event holding one (type, state key) in the group's state, if any. */
  async entry(group: number, key: StateTuple, db: Db = this.db): Promise<string | undefined> {
    return lookup(await this.chain(group, db), key)?.id;
  }

  /** The state with the events' numbers, for the stores that write state tables. */
  async readRefs(group: number, db: Db = this.db): Promise<Map<StateTuple, StateRef>> {
    return compose(await this.chain(group, db));
  }

  /**
   * What changes `from`'s state into `to`'s. Reads only the rows the two chains
   * do not share, so neighbouring groups compare in time proportional to their
   * differences, not to the size of the state.
   */
  async diff(from: number, to: number, db: Db = this.db): Promise<Map<StateTuple, StateRef | null>> {
    const [a, b] = await Promise.all([this.chain(from, db), this.chain(to, db)]);
    const shared = new Set(a.map((group) => group.id).filter((id) => b.some((group) => group.id === id)));
    const out = new Map<StateTuple, StateRef | null>();
    for (const group of [...a, ...b]) {
      if (shared.has(group.id)) continue;
      for (const key of group.changes.keys()) {
        if (out.has(key)) continue;
        const before = lookup(a, key);
        const after = lookup(b, key);
        if (before?.nid !== after?.nid) out.set(key, after);
      }
    }
    return out;
  }

  /**
   * What a read of `group` costs: rows fetched (1 + popcount(height)), and
   * entries composed from the snapshot and from the deltas above it (the
   * latter never exceed `size`).
   */
  async readCost(group: number, db: Db = this.db): Promise<{ height: number; rows: number; snapshotEntries: number; deltaEntries: number; size: number }> {
    const chain = await this.chain(group, db);
    const snapshotEntries = chain[chain.length - 1].changes.size;
    const deltaEntries = chain.reduce((n, g) => n + g.changes.size, 0) - snapshotEntries;
    return { height: chain[0].height, rows: chain.length, snapshotEntries, deltaEntries, size: chain[0].size };
  }

  private async insertSnapshot(trx: Db, roomNid: number, chain: Chain, changes: Map<StateTuple, StateRef | null>): Promise<number> {
    const state = compose([{ id: 0, baseId: null, height: 0, size: 0, changes }, ...chain]);
    return this.insert(trx, roomNid, { baseId: null, height: 0, size: state.size, changes: state });
  }

  private async insert(trx: Db, roomNid: number, group: Omit<Group, 'id'>): Promise<number> {
    const entries: number[] = [];
    const removed: [string, string][] = [];
    for (const [key, ref] of group.changes) {
      if (ref !== null) entries.push(ref.nid);
      else {
        const { type, stateKey } = splitStateTuple(key);
        removed.push([type, stateKey]);
      }
    }
    const [row] = await trx('state_groups')
      .insert({
        room_nid: roomNid,
        base_id: group.baseId,
        height: group.height,
        size: group.size,
        entries: JSON.stringify(entries),
        removed: removed.length > 0 ? JSON.stringify(removed) : null,
      })
      .returning('id');
    const id = Number(row.id);
    this.remember(trx, { ...group, id });
    return id;
  }

  /** `group` and its bases down to the snapshot, from the cache where possible, else in one query. */
  private async chain(group: number, db: Db): Promise<Chain> {
    const assembled = outermost(db) === undefined ? this.chains.get(group) : undefined;
    if (assembled) return assembled;
    const chain: Chain = [];
    let next: number | null = group;
    for (let cached = this.recall(db, next); cached; cached = next === null ? undefined : this.recall(db, next)) {
      chain.push(cached);
      next = cached.baseId;
    }
    if (next !== null) chain.push(...(await this.fetchChain(next, db)));
    if (outermost(db) === undefined) this.chains.set(group, chain);
    return chain;
  }

  private async fetchChain(group: number, db: Db): Promise<Chain> {
    const result = await db.raw(
      `with recursive chain(id) as (
         select cast(? as bigint)
         union all
         select g.base_id from state_groups g join chain on g.id = chain.id where g.base_id is not null
       )
       select g.id, g.base_id, g.height, g.size, g.entries, g.removed from state_groups g join chain on g.id = chain.id`,
      [group],
    );
    const rows: Raw[] = (Array.isArray(result) ? result : result.rows).map((r: Raw) => ({ ...r, id: Number(r.id), height: Number(r.height) }));
    if (rows.length === 0) throw new UnknownStateGroupError(`unknown state group ${group}`);
    rows.sort((x, y) => y.height - x.height);

    const parsed = rows.map((row) => {
      const cached = this.recall(db, row.id);
      return { row, cached, nids: cached ? [] : (JSON.parse(row.entries) as number[]) };
    });
    const events = await this.resolveNids(parsed.flatMap((p) => p.nids), db);
    return parsed.map(({ row, cached, nids }) => {
      if (cached) return cached;
      const changes = new Map<StateTuple, StateRef | null>();
      for (const nid of nids) {
        const event = events.get(nid)!;
        changes.set(event.key, { nid, id: event.id });
      }
      for (const [type, stateKey] of row.removed === null ? [] : (JSON.parse(row.removed) as [string, string][])) changes.set(stateTuple(type, stateKey), null);
      const resolved: Group = { id: row.id, baseId: row.base_id === null ? null : Number(row.base_id), height: row.height, size: Number(row.size), changes };
      this.remember(db, resolved);
      return resolved;
    });
  }

  private recall(db: Db, id: number): Group | undefined {
    const trx = outermost(db);
    return (trx && this.uncommitted.get(trx)?.get(id)) ?? this.cache.get(id);
  }

  /** Caches `group` now, or, inside a transaction, once it commits (SQLite reuses rolled-back IDs). */
  private remember(db: Db, group: Group): void {
    const trx = outermost(db);
    if (trx === undefined) return this.cache.set(group.id, group);
    let pending = this.uncommitted.get(trx);
    if (pending === undefined) {
      const groups = new Map<number, Group>();
      this.uncommitted.set(trx, groups);
      whenSettled(trx, () => {
        for (const g of groups.values()) this.cache.set(g.id, g);
      });
      pending = groups;
    }
    pending.set(group.id, group);
  }

  private async resolveNids(nids: number[], db: Db): Promise<Map<number, { id: string; key: StateTuple }>> {
    if (nids.length === 0) return new Map();
    const rows = await db('events').whereIn('nid', listOf(db, nids, 'bigint')).select('nid', 'event_id', 'type', 'state_key');
    return new Map(rows.map((r) => [Number(r.nid), { id: r.event_id as string, key: stateTuple(r.type, r.state_key) }]));
  }

  /** The stored events a delta names, checked against the keys it puts them under. */
  private async refsFor(delta: StateDelta, db: Db): Promise<Map<string, StateRef>> {
    const ids = [...new Set([...delta.values()].filter((id): id is string => id !== null))];
    const rows = ids.length === 0 ? [] : await db('events').whereIn('event_id', listOf(db, ids, 'text')).select('nid', 'event_id', 'type', 'state_key');
    const found = new Map(rows.map((r) => [r.event_id as string, r]));
    const refs = new Map<string, StateRef>();
    for (const [key, id] of delta) {
      if (id === null) continue;
      const row = found.get(id);
      if (!row || row.state_key === null || stateTuple(row.type, row.state_key) !== key) {
        throw new Error(`state entry ${JSON.stringify(splitStateTuple(key))} names ${id}, which is not a stored state event with that type and state key`);
      }
      refs.set(id, { nid: Number(row.nid), id });
    }
    return refs;
  }
}

/** A small cache of assembled chains; groups never change, so neither do their chains. */
class RecentChains {
  private readonly chains = new Map<number, Chain>();

  get(group: number): Chain | undefined {
    return this.chains.get(group);
  }

  set(group: number, chain: Chain): void {
    this.chains.set(group, chain);
    if (this.chains.size > 1024) this.chains.delete(this.chains.keys().next().value!);
  }
}

/** The delta that turns `from` into `to`. */
export function difference(from: StateMap, to: StateMap): StateDelta {
  const delta: StateDelta = new Map();
  for (const [key, id] of to) if (from.get(key) !== id) delta.set(key, id);
  for (const key of from.keys()) if (!to.has(key)) delta.set(key, null);
  return delta;
}

/**
 * Splitting the states to resolve into what they agree on and what they
 * conflict over. The two algorithm families define "conflict" differently.
 */
import type { StateMap, StateTuple } from '../pdu';

export interface V2Partition {
  /** Keys present in every state with the same event. */
  unconflicted: StateMap;
  /** Every event of every other key, in any state. */
  conflicted: Set<string>;
}

/** rooms/fragments/v2-state-res.md, "Unconflicted state map and conflicted state set". */
export function partitionStateSets(stateSets: readonly StateMap[]): V2Partition {
  const unconflicted: StateMap = new Map();
  const conflicted = new Set<string>();
  for (const key of allKeys(stateSets)) {
    const values = stateSets.map((state) => state.get(key));
    const first = values[0];
    if (first !== undefined && values.every((value) => value === first)) {
      unconflicted.set(key, first);
    } else {
      for (const value of values) if (value !== undefined) conflicted.add(value);
    }
  }
  return { unconflicted, conflicted };
}

export interface V1Partition {
  /** Keys whose states all hold the same event, or that only some states have. */
  unconflicted: StateMap;
  /** Keys two states hold different events for, with each distinct event. */
  conflicts: Map<StateTuple, string[]>;
}

/**
 * rooms/v1.md, "State resolution": a conflict is different event IDs for the
 * same key; a key some states lack is not a conflict.
 */
export function partitionStateSetsV1(stateSets: readonly StateMap[]): V1Partition {
  const unconflicted: StateMap = new Map();
  const conflicts = new Map<StateTuple, string[]>();
  for (const key of allKeys(stateSets)) {
    const distinct = new Set<string>();
    for (const state of stateSets) {
      const value = state.get(key);
      if (value !== undefined) distinct.add(value);
    }
    if (distinct.size === 1) unconflicted.set(key, [...distinct][0]);
    else conflicts.set(key, [...distinct]);
  }
  return { unconflicted, conflicts };
}

function allKeys(stateSets: readonly StateMap[]): Set<StateTuple> {
  const keys = new Set<StateTuple>();
  for (const state of stateSets) for (const key of state.keys()) keys.add(key);
  return keys;
}

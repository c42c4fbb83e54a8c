/**
 * The full conflicted set and its parts (rooms/fragments/v2-state-res.md and
 * rooms/v12.md, "Definitions"). Every walk here is linear in the auth graph
 * fetched: no per-event auth chains are built.
 */
import type { StateMap } from '../pdu';
import type { EventGraph } from './event-graph';

/**
 * ∪ Cᵢ − ∩ Cᵢ, where Cᵢ is the union of the auth chains of the events in
 * state i. Whatever is in the auth chain of the unconflicted events is in
 * every Cᵢ, so each state's own walk stops there.
 */
export function authDifference(graph: EventGraph, stateSets: readonly StateMap[], unconflicted: StateMap): Set<string> {
  const common = graph.authChain(unconflicted.values());
  const reachedBy = new Map<string, number>();
  for (const state of stateSets) {
    const own: string[] = [];
    for (const [key, id] of state) if (unconflicted.get(key) !== id) own.push(id);
    for (const id of graph.authChain(own, common)) reachedBy.set(id, (reachedBy.get(id) ?? 0) + 1);
  }
  const difference = new Set<string>();
  for (const [id, count] of reachedBy) if (count < stateSets.length) difference.add(id);
  return difference;
}

/**
 * Room version 12: every event on an auth_events path from one conflicted
 * event to another, endpoints included. That is, the events reachable from
 * a conflicted event (or one themselves) from which a conflicted event is
 * reachable (or which are one).
 */
export function conflictedStateSubgraph(graph: EventGraph, conflicted: ReadonlySet<string>): Set<string> {
  const region = graph.authChain(conflicted);
  for (const id of conflicted) if (graph.event(id) !== undefined) region.add(id);

  const citedBy = new Map<string, string[]>();
  for (const id of region) {
    for (const authId of graph.authIds(id)) {
      if (!region.has(authId)) continue;
      const citing = citedBy.get(authId);
      if (citing === undefined) citedBy.set(authId, [id]);
      else citing.push(id);
    }
  }

  const subgraph = new Set<string>();
  const pending: string[] = [];
  for (const id of conflicted) {
    if (region.has(id)) {
      subgraph.add(id);
      pending.push(id);
    }
  }
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    for (const citing of citedBy.get(id) ?? []) {
      if (subgraph.has(citing)) continue;
      subgraph.add(citing);
      pending.push(citing);
    }
  }
  return subgraph;
}

/** The conflicted state set ∪ the auth difference, and from v12 ∪ the conflicted state subgraph. */
export function fullConflictedSet(
  graph: EventGraph,
  stateSets: readonly StateMap[],
  unconflicted: StateMap,
  conflicted: ReadonlySet<string>,
  withSubgraph: boolean,
): Set<string> {
  const full = new Set([...conflicted, ...authDifference(graph, stateSets, unconflicted)]);
  if (withSubgraph) for (const id of conflictedStateSubgraph(graph, conflicted)) full.add(id);
  return full;
}

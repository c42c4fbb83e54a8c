/**
 * State resolution v2 (rooms/fragments/v2-state-res.md, room versions 2-11)
 * and its room version 12 revision (rooms/v12.md, "State resolution"): the
 * full conflicted set also takes the conflicted state subgraph, and the
 * power events' iterative auth checks start from an empty state.
 */
import type { Authorize, StateMap } from '../pdu';
import type { RoomVersion } from '../room-versions';
import { isPowerEvent, POWER_LEVELS_KEY } from './auth-selection';
import { fullConflictedSet } from './conflicted-set';
import { EventGraph } from './event-graph';
import type { EventSource } from './index';
import { iterativeAuthChecks } from './iterative-auth-checks';
import { mainlineOrder } from './mainline-ordering';
import { reverseTopologicalPowerOrder } from './power-ordering';
import { partitionStateSets } from './state-sets';

export async function resolveV2(
  version: RoomVersion,
  stateSets: readonly StateMap[],
  source: EventSource,
  authorize: Authorize,
): Promise<StateMap> {
  const revised = version.stateResolution === 'v2.1';
  const { unconflicted, conflicted } = partitionStateSets(stateSets);
  if (conflicted.size === 0) return unconflicted;

  const graph = new EventGraph(source, version);
  await graph.loadAuthClosure(stateSets.flatMap((state) => [...state.values()]));
  const full = [...fullConflictedSet(graph, stateSets, unconflicted, conflicted, revised)].filter(
    (id) => graph.event(id) !== undefined,
  );
  const rejected = await graph.rejectedAmong(full.flatMap((id) => graph.authIdsWithImpliedCreate(id)));

  // 1. The power events and the parts of their auth chains in the full conflicted set.
  const fullSet = new Set(full);
  const powerEvents = full.filter((id) => isPowerEvent(graph.event(id)!.pdu));
  const powerSet = new Set(powerEvents);
  for (const id of graph.authChain(powerEvents)) if (fullSet.has(id)) powerSet.add(id);

  // 2. Their iterative auth checks, from the unconflicted state (v2) or from nothing (v2.1).
  const start: StateMap = revised ? new Map() : unconflicted;
  const partial = iterativeAuthChecks(reverseTopologicalPowerOrder(powerSet, graph), start, graph, authorize, rejected);

  // 3-4. The rest, in mainline order of the power levels resolved so far.
  const others = full.filter((id) => !powerSet.has(id));
  const ordered = mainlineOrder(others, partial.get(POWER_LEVELS_KEY), graph);
  const resolved = iterativeAuthChecks(ordered, partial, graph, authorize, rejected);

  // 5. The unconflicted state has the last word.
  for (const [key, id] of unconflicted) resolved.set(key, id);
  return resolved;
}

/**
 * State resolution as room version 1 defines it (rooms/v1.md, "State
 * resolution"): conflicts over power levels, then join rules, then each
 * membership are settled by replaying the candidates from the shallowest
 * until one is not allowed; any other conflict goes to the deepest candidate
 * the rules allow.
 */
import { splitStateTuple, type Authorize, type RoomEvent, type StateEvents, type StateMap } from '../pdu';
import type { RoomVersion } from '../room-versions';
import { authStateKeys, JOIN_RULES_KEY, POWER_LEVELS_KEY } from './auth-selection';
import { compareCodePoints, sha1Hex } from './compare';
import { EventGraph } from './event-graph';
import type { EventSource } from './index';
import { isAllowed } from './iterative-auth-checks';
import { partitionStateSetsV1 } from './state-sets';

export async function resolveV1(
  version: RoomVersion,
  stateSets: readonly StateMap[],
  source: EventSource,
  authorize: Authorize,
): Promise<StateMap> {
  const { unconflicted, conflicts } = partitionStateSetsV1(stateSets);
  if (conflicts.size === 0) return unconflicted;

  const graph = new EventGraph(source, version);
  await graph.load(stateSets.flatMap((state) => [...state.values()]));
  const resolved: StateMap = new Map(unconflicted);
  const allowedNow = (event: RoomEvent): boolean =>
    isAllowed(authorize, event, authStateIn(resolved, event, graph), version);

  const keys = [...conflicts.keys()].sort(compareCodePoints);
  const memberKeys = keys.filter((key) => splitStateTuple(key).type === 'm.room.member');
  const replayedKeys = new Set([POWER_LEVELS_KEY, JOIN_RULES_KEY, ...memberKeys].filter((key) => conflicts.has(key)));
  for (const key of replayedKeys) {
    const [first, ...rest] = byDepthThenHash(loaded(conflicts.get(key)!, graph));
    if (first === undefined) continue;
    resolved.set(key, first.id);
    for (const event of rest) {
      if (!allowedNow(event)) break;
      resolved.set(key, event.id);
    }
  }

  for (const key of keys) {
    if (replayedKeys.has(key)) continue;
    const chosen = byDepthThenHash(loaded(conflicts.get(key)!, graph)).reverse().find(allowedNow);
    if (chosen !== undefined) resolved.set(key, chosen.id);
  }
  return resolved;
}

/** Ascending depth, then descending sha1(event_id). */
function byDepthThenHash(events: RoomEvent[]): RoomEvent[] {
  const keyed = events.map((event) => ({ event, hash: sha1Hex(event.id) }));
  keyed.sort((x, y) => x.event.pdu.depth - y.event.pdu.depth || compareCodePoints(y.hash, x.hash));
  return keyed.map(({ event }) => event);
}

function loaded(ids: readonly string[], graph: EventGraph): RoomEvent[] {
  return ids.map((id) => graph.event(id)).filter((event): event is RoomEvent => event !== undefined);
}

/** The state the rules judge `event` by when the room is in state `state`. */
function authStateIn(state: StateMap, event: RoomEvent, graph: EventGraph): StateEvents {
  const authState: StateEvents = new Map();
  for (const key of authStateKeys(event.pdu, graph.version)) {
    const id = state.get(key);
    const stateEvent = id === undefined ? undefined : graph.event(id);
    if (stateEvent !== undefined) authState.set(key, stateEvent);
  }
  return authState;
}

/**
 * Iterative auth checks (rooms/fragments/v2-state-res.md, "Definitions"):
 * apply each state event in turn if the authorisation rules allow it against
 * the state so far, taking any key the rules need but the state lacks from
 * the event's own auth events, unless that auth event was rejected.
 */
import { AuthError, stateTuple, type Authorize, type RoomEvent, type StateEvents, type StateMap } from '../pdu';
import type { RoomVersion } from '../room-versions';
import { authStateKeys } from './auth-selection';
import type { EventGraph } from './event-graph';

export function iterativeAuthChecks(
  ids: readonly string[],
  initial: StateMap,
  graph: EventGraph,
  authorize: Authorize,
  rejected: ReadonlySet<string>,
): StateMap {
  const state: StateMap = new Map(initial);
  for (const id of ids) {
    const event = graph.event(id);
    if (event === undefined || event.pdu.state_key === undefined) continue;
    if (!isAllowed(authorize, event, authStateFor(event, state, graph, rejected), graph.version)) continue;
    state.set(stateTuple(event.pdu.type, event.pdu.state_key), id);
  }
  return state;
}

/** The state the rules judge `event` by: each key they read, from `state`, else from the event's auth events. */
export function authStateFor(
  event: RoomEvent,
  state: StateMap,
  graph: EventGraph,
  rejected: ReadonlySet<string>,
): StateEvents {
  const ownAuthEvents = graph.authEventsByKey(event.id);
  const authState: StateEvents = new Map();
  for (const key of authStateKeys(event.pdu, graph.version)) {
    const current = state.get(key);
    const fromState = current === undefined ? undefined : graph.event(current);
    const fromAuthEvents = ownAuthEvents.get(key);
    const chosen = fromState ?? (fromAuthEvents !== undefined && !rejected.has(fromAuthEvents.id) ? fromAuthEvents : undefined);
    if (chosen !== undefined) authState.set(key, chosen);
  }
  return authState;
}

/** Whether the rules allow the event; only an AuthError means no, anything else is a fault and propagates. */
export function isAllowed(authorize: Authorize, event: RoomEvent, authState: StateEvents, version: RoomVersion): boolean {
  try {
    authorize(event, authState, version);
    return true;
  } catch (error) {
    if (error instanceof AuthError) return false;
    throw error;
  }
}

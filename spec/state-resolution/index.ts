/**
 * State resolution: the room state after several states meet (rooms/v1.md
 * and rooms/fragments/v2-state-res.md, "State resolution"; rooms/v12.md for
 * its revision). Which algorithm a room uses is its version's
 * `stateResolution`.
 */
import type { Authorize, RoomEvent, StateMap } from '../pdu';
import type { RoomVersion } from '../room-versions';
import { resolveV1 } from './v1';
import { resolveV2 } from './v2';

/**
 * Where state resolution reads events from; the storage layer implements it.
 * One resolution asks for each event at most once, in batches.
 */
export interface EventSource {
  /** The events with these IDs that are known; unknown IDs are absent from the map. */
  get(ids: string[]): Promise<Map<string, RoomEvent>>;
  /**
   * Which of these IDs were rejected. Rejected auth events are not used to
   * fill gaps in the state during iterative auth checks. Without it, none are.
   */
  rejected?(ids: string[]): Promise<ReadonlySet<string>>;
}

/**
 * Resolves `stateSets` (each a state map: (type, state_key) → event ID) into
 * one state map, judging events with `authorize` (the room version's
 * authorisation rules). Events the source does not know are left out.
 */
export async function resolveState(
  version: RoomVersion,
  stateSets: StateMap[],
  source: EventSource,
  authorize: Authorize,
): Promise<StateMap> {
  if (stateSets.length === 0) return new Map();
  if (stateSets.length === 1) return new Map(stateSets[0]);
  switch (version.stateResolution) {
    case 'v1':
      return resolveV1(version, stateSets, source, authorize);
    case 'v2':
    case 'v2.1':
      return resolveV2(version, stateSets, source, authorize);
  }
}

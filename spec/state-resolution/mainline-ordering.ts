/**
 * Mainline ordering (rooms/fragments/v2-state-res.md, "Definitions"): events
 * based on an earlier power-levels event of the mainline come first, then by
 * origin_server_ts, then by event ID.
 */
import { compareCodePoints } from './compare';
import { POWER_LEVELS_KEY } from './auth-selection';
import type { EventGraph } from './event-graph';

export function mainlineOrder(ids: readonly string[], powerLevelsId: string | undefined, graph: EventGraph): string[] {
  const positions = mainlinePositions(powerLevelsId, graph);
  const keyed = ids.map((id) => ({
    id,
    position: positions(id),
    ts: graph.event(id)?.pdu.origin_server_ts ?? 0,
  }));
  keyed.sort((x, y) => {
    if (x.position !== y.position) return x.position > y.position ? -1 : 1;
    if (x.ts !== y.ts) return x.ts < y.ts ? -1 : 1;
    return compareCodePoints(x.id, y.id);
  });
  return keyed.map(({ id }) => id);
}

/**
 * The mainline position of an event relative to the mainline of
 * `powerLevelsId`: the index in that mainline of the first event met walking
 * the m.room.power_levels auth_events links from the event (not counting
 * the event itself), or Infinity if the walk never meets it. Remembered per
 * power-levels event, so a set of events costs one walk of their chains.
 */
export function mainlinePositions(powerLevelsId: string | undefined, graph: EventGraph): (id: string) => number {
  const parentOf = (id: string): string | undefined => graph.authEventsByKey(id).get(POWER_LEVELS_KEY)?.id;

  const basedAt = new Map<string, number>();
  let index = 0;
  for (let p = powerLevelsId; p !== undefined && !basedAt.has(p); p = parentOf(p)) basedAt.set(p, index++);

  const positionFrom = (first: string): number => {
    const path = new Set<string>();
    let position = Infinity;
    for (let p: string | undefined = first; p !== undefined && !path.has(p); p = parentOf(p)) {
      const known = basedAt.get(p);
      if (known !== undefined) {
        position = known;
        break;
      }
      path.add(p);
    }
    for (const p of path) basedAt.set(p, position);
    return position;
  };

  return (id: string): number => {
    const parent = parentOf(id);
    return parent === undefined ? Infinity : positionFrom(parent);
  };
}

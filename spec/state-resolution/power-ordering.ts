/**
 * Reverse topological power ordering (rooms/fragments/v2-state-res.md,
 * "Definitions"): Kahn's algorithm over the auth_events edges among the
 * events, taking at each step the least candidate: the sender with the
 * greater power level, then the earlier origin_server_ts, then the lesser
 * event ID.
 */
import { compareCodePoints } from './compare';
import { CREATE_KEY, POWER_LEVELS_KEY } from './auth-selection';
import type { EventGraph } from './event-graph';
import { MinHeap } from './min-heap';
import { PowerLevels, roomCreators } from '../power-levels';

export function reverseTopologicalPowerOrder(ids: ReadonlySet<string>, graph: EventGraph): string[] {
  const levels = new Map<string, number>();
  for (const id of ids) levels.set(id, senderPowerLevel(graph, id));

  const uncitedAuthEvents = new Map<string, number>();
  const citedBy = new Map<string, string[]>();
  for (const id of ids) {
    let count = 0;
    for (const authId of graph.authIds(id)) {
      if (authId === id || !ids.has(authId)) continue;
      count++;
      const citing = citedBy.get(authId);
      if (citing === undefined) citedBy.set(authId, [id]);
      else citing.push(id);
    }
    uncitedAuthEvents.set(id, count);
  }

  const candidates = new MinHeap<string>((x, y) => precedes(x, y, levels, graph));
  for (const [id, count] of uncitedAuthEvents) if (count === 0) candidates.push(id);
  const order: string[] = [];
  for (let id = candidates.pop(); id !== undefined; id = candidates.pop()) {
    order.push(id);
    for (const citing of citedBy.get(id) ?? []) {
      const left = (uncitedAuthEvents.get(citing) ?? 0) - 1;
      uncitedAuthEvents.set(citing, left);
      if (left === 0) candidates.push(citing);
    }
  }
  return order;
}

function precedes(x: string, y: string, levels: ReadonlyMap<string, number>, graph: EventGraph): boolean {
  const levelX = levels.get(x) ?? 0;
  const levelY = levels.get(y) ?? 0;
  if (levelX !== levelY) return levelX > levelY;
  const tsX = graph.event(x)?.pdu.origin_server_ts ?? 0;
  const tsY = graph.event(y)?.pdu.origin_server_ts ?? 0;
  if (tsX !== tsY) return tsX < tsY;
  return compareCodePoints(x, y) < 0;
}

/** The power level of the event's sender according to the event's own auth events. */
export function senderPowerLevel(graph: EventGraph, id: string): number {
  const event = graph.event(id);
  if (event === undefined) return 0;
  const authEvents = graph.authEventsByKey(id);
  const { version } = graph;
  const creators = roomCreators(authEvents.get(CREATE_KEY)?.pdu, version);
  return new PowerLevels(authEvents.get(POWER_LEVELS_KEY)?.pdu.content, creators, version).user(event.pdu.sender);
}

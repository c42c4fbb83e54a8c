/**
 * Which thread an event belongs to, for threaded receipts and per-thread
 * notification counts (modules/receipts.md, "Threaded read receipts";
 * modules/push.md, "Marking notifications as read"): the root of an m.thread
 * relation, found by following relations at most three hops; otherwise the
 * main timeline, which thread roots belong to.
 */
import { relationOf } from '../relations';

export const MAIN_THREAD = 'main';

/** Hops followed before deciding that an event is in no thread. */
export const MAX_THREAD_HOPS = 3;

/** Loads the content of an event (undefined when it is unknown). */
export type ContentLoader = (eventId: string) => Promise<Record<string, unknown> | undefined>;

/** The thread root's event ID, or MAIN_THREAD. */
export async function threadOf(content: Record<string, unknown>, load: ContentLoader): Promise<string> {
  let relation = relationOf(content);
  for (let hop = 0; relation !== undefined; hop++) {
    if (relation.relType === 'm.thread') return relation.eventId;
    if (hop + 1 >= MAX_THREAD_HOPS) break;
    const parent = await load(relation.eventId);
    relation = parent && relationOf(parent);
  }
  return MAIN_THREAD;
}

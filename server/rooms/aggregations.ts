/**
 * Bundled aggregations ("Aggregations of child events"): `unsigned.m.relations`
 * of the events served to a client, computed for a whole page at once.
 *
 * - m.replace: the newest valid replacement the viewer may see, as a client
 *   event; not for a redacted original. The original's content is left as it is.
 * - m.reference: the IDs of the referencing events the viewer may see.
 * - m.thread: the thread's latest event the viewer may see (with its own
 *   aggregations), the number of thread events, and whether the viewer took part.
 * - m.annotation is not aggregated.
 *
 * Only accepted, unredacted children count, never those of users the viewer
 * ignores; state events get no aggregations.
 */
import type { ClientEvent } from '../../spec/client-event';
import { isValidReplacement, newestReplacementFirst } from '../../spec/relations';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import type { FormatOptions, Viewer } from './client-events';
import { SharedReads } from '../../storage/shared-reads';
import { ignoredUsers } from './history-access';
import type { Visibility } from './visibility';

export type Bundle = Record<string, unknown>;

type Format = (events: readonly StoredEvent[], viewer: Viewer, options: FormatOptions) => Promise<ClientEvent[]>;

/** Latest thread events considered per thread when the newest are not visible to the viewer. */
const THREAD_LATEST_CANDIDATES = 5;
const AGGREGATED = ['m.replace', 'm.reference', 'm.thread'];

export class Aggregations {
  /**
   * Which events have children at all, shared between the requests that ask
   * about the same events at the same stream position (a new event fanned out
   * to every member's sync): most events have none, and then nothing else is
   * read. A new child moves the position, so an answer is never stale.
   */
  private readonly withChildren = new SharedReads<Set<string>>(10_000, 256);

  constructor(
    private readonly stores: Stores,
    private readonly visibility: Visibility,
    private readonly format: Format,
  ) {}

  /**
   * The bundles of those of `events` that have any, by event ID. Events nested
   * in a bundle (replacements, latest thread events) are formatted as the
   * events themselves; a latest thread event gets its own bundle, nested ones no further.
   */
  async bundles(events: readonly StoredEvent[], viewer: Viewer, options: FormatOptions, nested = false): Promise<Map<string, Bundle>> {
    const candidates = events.filter((stored) => stored.status === 'accepted' && stored.event.pdu.state_key === undefined);
    const out = new Map<string, Bundle>();
    const related = new Set<string>();
    const position = candidates.length > 0 ? await this.stores.events.latestStreamOrdering() : 0;
    for (const roomId of new Set(candidates.map((stored) => stored.roomId))) {
      const ids = candidates.filter((stored) => stored.roomId === roomId).map((stored) => stored.event.id);
      const key = `${position} ${roomId} ${ids.join(' ')}`;
      const found = await this.withChildren.get(key, () => this.stores.relations.parentsWithChildren(roomId, ids, AGGREGATED));
      for (const id of found) related.add(id);
    }
    const parents = candidates.filter((stored) => related.has(stored.event.id));
    if (parents.length === 0) return out;
    const ignored = await ignoredUsers(this.stores, viewer.userId);
    for (const roomId of new Set(parents.map((stored) => stored.roomId))) {
      await this.bundleRoom(
        roomId,
        parents.filter((stored) => stored.roomId === roomId),
        { viewer, options, ignored, nested },
        out,
      );
    }
    return out;
  }

  private async bundleRoom(
    roomId: string,
    parents: StoredEvent[],
    ctx: { viewer: Viewer; options: FormatOptions; ignored: Set<string>; nested: boolean },
    out: Map<string, Bundle>,
  ): Promise<void> {
    const { viewer, ignored } = ctx;
    const ids = parents.map((stored) => stored.event.id);
    const children = (await this.stores.relations.children(roomId, ids, ['m.replace', 'm.reference'])).filter((c) => !ignored.has(c.sender));
    const threads = await this.stores.relations.threadSummaries(roomId, ids, {
      userId: viewer.userId,
      ignored: [...ignored],
      latest: THREAD_LATEST_CANDIDATES,
    });
    if (children.length === 0 && threads.size === 0) return;

    const wanted = [...children.map((c) => c.eventId), ...[...threads.values()].flatMap((t) => t.latest)];
    const loaded = await this.stores.events.get(wanted);
    const seen = new Map((await this.visibility.filter(viewer.userId, [...loaded.values()])).map((stored) => [stored.event.id, stored]));

    const replacements = new Map<string, StoredEvent>();
    const latestInThread = new Map<string, StoredEvent>();
    for (const parent of parents) {
      const id = parent.event.id;
      const mine = (relType: string) => children.filter((c) => c.parentId === id && c.relType === relType && seen.has(c.eventId)).map((c) => seen.get(c.eventId)!);
      const bundle: Bundle = {};
      if (!parent.redactedBy) {
        const [newest] = mine('m.replace')
          .filter((edit) => isValidReplacement(parent.event.pdu, edit.event.pdu))
          .sort((a, b) => newestReplacementFirst(a.event, b.event));
        if (newest) replacements.set(id, newest);
      }
      const references = mine('m.reference');
      if (references.length > 0) bundle['m.reference'] = { chunk: references.map((stored) => ({ event_id: stored.event.id })) };
      const thread = threads.get(id);
      const latest = thread?.latest.map((eventId) => seen.get(eventId)).find((stored) => stored !== undefined);
      if (thread && latest) {
        latestInThread.set(id, latest);
        bundle['m.thread'] = {
          count: thread.count,
          current_user_participated: parent.event.pdu.sender === viewer.userId || thread.participated,
        };
      }
      out.set(id, bundle);
    }

    const nestedOptions: FormatOptions = { ...ctx.options, withoutAggregations: true };
    const formattedEdits = await this.formatById([...replacements.values()], viewer, nestedOptions);
    for (const [id, edit] of replacements) out.get(id)!['m.replace'] = formattedEdits.get(edit.event.id);

    const latest = [...new Map([...latestInThread.values()].map((stored) => [stored.event.id, stored])).values()];
    const formattedLatest = await this.formatById(latest, viewer, nestedOptions);
    if (!ctx.nested) {
      for (const [eventId, bundle] of await this.bundles(latest, viewer, ctx.options, true)) {
        const event = formattedLatest.get(eventId);
        if (event && Object.keys(bundle).length > 0) event.unsigned = { ...event.unsigned, 'm.relations': bundle };
      }
    }
    for (const [id, stored] of latestInThread) (out.get(id)!['m.thread'] as Bundle).latest_event = formattedLatest.get(stored.event.id);

    for (const [id, bundle] of out) if (Object.keys(bundle).length === 0) out.delete(id);
  }

  private async formatById(events: StoredEvent[], viewer: Viewer, options: FormatOptions): Promise<Map<string, ClientEvent>> {
    if (events.length === 0) return new Map();
    const formatted = await this.format(events, viewer, options);
    return new Map(formatted.map((event) => [event.event_id, event]));
  }
}

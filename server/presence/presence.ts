/**
 * Presence (presence module). Each user's presence is stored (storage/presence.ts);
 * this process also keeps, for the users it has seen lately, their exact
 * last-active time and whether they are connected (sync requests in flight, and
 * when the last one ended), which the periodic sweep reads:
 *
 * - a sync request marks the user online and active (set_presence=unavailable:
 *   unavailable; set_presence=offline changes nothing);
 * - sending an event makes them active (and online again if they were unavailable);
 * - online without activity for `idle_timeout_ms` → unavailable;
 * - online or unavailable with no sync request for `offline_timeout_ms` → offline.
 *
 * Changes of state, status message or currently_active take a new stream
 * position and wake the syncs of the user and of their rooms; a later
 * last-active time alone is written at most once a minute and announced to no one.
 *
 * Other servers' users' presence comes through applyRemote (their server's
 * m.presence EDUs) and is stored as it comes; listeners hear of the announced
 * changes of local users, to tell other servers.
 */
import { forbidden, notFound } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import type { PresenceState } from '../../spec/schemas/presence';
import type { Stores } from '../../storage';
import type { PresenceFields, PresenceRow } from '../../storage/presence';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import { roomKey, userKey, type Notifier } from '../sync/notifier';
import type { PresenceSetting } from '../sync/stream';

/** How stale the stored last-active time of an active user may get. */
const LAST_ACTIVE_WRITE_INTERVAL_MS = 60_000;

const NEVER_SEEN: PresenceFields = { state: 'offline', statusMsg: null, lastActiveTs: 0, currentlyActive: false };

/** What this process knows about a user it has seen lately. */
interface Tracked {
  /** As clients should see it, with the exact last-active time; undefined while loading. */
  fields?: PresenceFields;
  /** The last-active time the database holds. */
  storedActiveTs: number;
  /** Sync requests in flight that keep the user online. */
  syncing: number;
  /** When the user was last connected: a sync request ended, or they set their presence. */
  seenTs: number;
  /** The user's changes run one at a time, in order, after the initial load. */
  queue: Promise<unknown>;
  /** Changes queued or running. */
  busy: number;
}

/** The content of an m.presence event (and of GET /presence/{userId}/status). */
export function presenceContent(fields: PresenceFields, now: number): Record<string, unknown> {
  const content: Record<string, unknown> = { presence: fields.state };
  if (fields.lastActiveTs > 0) content.last_active_ago = Math.max(0, now - fields.lastActiveTs);
  if (fields.statusMsg !== null) content.status_msg = fields.statusMsg;
  if (fields.state === 'online') content.currently_active = fields.currentlyActive;
  return content;
}

/** Told of each announced change of a local user's presence. */
export type PresenceListener = (userId: string, fields: PresenceFields) => void;

const announced = (a: PresenceFields, b: PresenceFields) =>
  a.state !== b.state || a.statusMsg !== b.statusMsg || a.currentlyActive !== b.currentlyActive;

export class Presence {
  readonly enabled: boolean;
  private readonly tracked = new Map<string, Tracked>();
  /** Work started in the background (activity from sent events, flushes), awaited on close. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly sweeper?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  /** Whether the users a previous run left online have been taken over. */
  private adopted = false;
  private readonly listeners: PresenceListener[] = [];

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
    private readonly config: Pick<Config, 'server_name' | 'presence'>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.enabled = config.presence.enabled;
    if (this.enabled) {
      const { idle_timeout_ms: idle, offline_timeout_ms: offline } = config.presence;
      const every = Math.min(5_000, Math.max(50, Math.min(idle, offline) / 4));
      this.sweeper = setInterval(() => void this.sweep(), every).unref();
    }
  }

  /** PUT /presence/{userId}/status: the user sets their presence (which is activity too). */
  async set(userId: string, state: PresenceState, statusMsg: string | null): Promise<void> {
    if (!this.enabled) return;
    const tracked = this.track(userId);
    tracked.seenTs = this.now();
    await this.change(userId, tracked, (_, now) => ({ state, statusMsg, lastActiveTs: now, currentlyActive: state === 'online' }));
  }

  /**
   * GET /presence/{userId}/status: 404 for an unknown local user, 403 unless
   * `viewer` is the user or shares a joined room with them.
   */
  async status(viewer: string, userId: string): Promise<Record<string, unknown>> {
    if (!this.enabled) return { presence: 'offline' };
    if (this.isLocal(userId) && !(await this.stores.users.exists(userId))) throw notFound(`Unknown user ${userId}`);
    if (viewer !== userId && !(await this.stores.memberships.shareARoom(viewer, userId))) {
      throw forbidden('You are not allowed to see their presence');
    }
    const fields = this.tracked.get(userId)?.fields ?? (await this.stores.presence.get(userId)) ?? NEVER_SEEN;
    return presenceContent(fields, this.now());
  }

  /**
   * A sync request starts: the user is online (or as `setPresence` says) until
   * some time after the returned function is called, when the request ends.
   */
  async syncing(userId: string, setPresence: PresenceSetting | undefined): Promise<(() => void) | undefined> {
    if (!this.enabled || setPresence === 'offline') return undefined;
    const tracked = this.track(userId);
    tracked.syncing++;
    try {
      await this.change(userId, tracked, (fields, now) =>
        setPresence === 'unavailable'
          ? { ...fields, state: 'unavailable', currentlyActive: false }
          : { ...fields, state: 'online', currentlyActive: true, lastActiveTs: now },
      );
    } catch (err) {
      // Presence never fails a sync.
      this.log.error({ err, userId }, 'presence update failed');
    }
    return () => {
      tracked.syncing--;
      tracked.seenTs = this.now();
    };
  }

  /** A local user sent an event: they are active. */
  eventSent(userId: string): void {
    if (!this.enabled || !this.isLocal(userId)) return;
    this.inBackground(
      this.change(userId, this.track(userId), (fields, now) =>
        fields.state === 'unavailable'
          ? { ...fields, state: 'online', currentlyActive: true, lastActiveTs: now }
          : { ...fields, lastActiveTs: now },
      ),
    );
  }

  /** Registers a listener of local users' announced presence changes. */
  onLocalChange(listener: PresenceListener): void {
    this.listeners.push(listener);
  }

  /**
   * Other servers' users' presence (an m.presence EDU), stored as given: a
   * change clients must hear about wakes the syncs of the user's rooms.
   * Ignored while presence is disabled.
   */
  async applyRemote(updates: readonly (PresenceFields & { userId: string })[]): Promise<void> {
    if (!this.enabled) return;
    for (const { userId, ...after } of updates) {
      if (this.isLocal(userId)) continue;
      const before = (await this.stores.presence.get(userId)) ?? NEVER_SEEN;
      if (announced(before, after)) {
        await this.stores.presence.set(userId, after);
        await this.wake(userId);
      } else if (after.lastActiveTs > before.lastActiveTs) {
        await this.stores.presence.touch(userId, after.lastActiveTs);
      }
    }
  }

  /** The m.presence event of a stored presence, with the last-active time as this process knows it. */
  eventOf(row: PresenceRow): { type: string; sender: string; content: Record<string, unknown> } {
    const lastActiveTs = Math.max(row.lastActiveTs, this.tracked.get(row.userId)?.fields?.lastActiveTs ?? 0);
    return { type: 'm.presence', sender: row.userId, content: presenceContent({ ...row, lastActiveTs }, this.now()) };
  }

  /** Stops the sweep and waits for writes in progress (the homeserver stops). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.sweeping;
    await Promise.allSettled([...this.background, ...[...this.tracked.values()].map((t) => t.queue)]);
  }

  /** The user's entry, created (and its stored presence loaded) on first use. */
  private track(userId: string): Tracked {
    let tracked = this.tracked.get(userId);
    if (tracked) return tracked;
    const entry: Tracked = { storedActiveTs: 0, syncing: 0, seenTs: this.now(), queue: Promise.resolve(), busy: 0 };
    entry.queue = this.stores.presence.get(userId).then(
      (row) => {
        entry.fields = row ?? NEVER_SEEN;
        entry.storedActiveTs = entry.fields.lastActiveTs;
      },
      (err) => {
        if (this.tracked.get(userId) === entry) this.tracked.delete(userId);
        throw err;
      },
    );
    this.tracked.set(userId, entry);
    return entry;
  }

  /**
   * Applies `next` to the user's presence after the changes queued before it:
   * stores and announces a change clients must hear about, or stores a later
   * last-active time at most once a minute.
   */
  private change(userId: string, tracked: Tracked, next: (fields: PresenceFields, now: number) => PresenceFields): Promise<void> {
    tracked.busy++;
    const run = tracked.queue
      .then(async () => {
        const before = tracked.fields!;
        const after = next(before, this.now());
        if (announced(before, after)) {
          await this.stores.presence.set(userId, after);
          tracked.storedActiveTs = after.lastActiveTs;
          tracked.fields = after;
          await this.wake(userId);
          for (const listener of this.listeners) listener(userId, after);
        } else {
          tracked.fields = after;
          if (after.lastActiveTs - tracked.storedActiveTs >= LAST_ACTIVE_WRITE_INTERVAL_MS) {
            await this.stores.presence.touch(userId, after.lastActiveTs);
            tracked.storedActiveTs = after.lastActiveTs;
          }
        }
      })
      .finally(() => tracked.busy--);
    tracked.queue = run.catch(() => {});
    return run;
  }

  /** Wakes the syncs of the user and of everyone in their rooms. */
  private async wake(userId: string): Promise<void> {
    const rooms = await this.stores.memberships.roomsOf(userId, ['join']);
    await this.stores.presence.positions.caughtUp();
    this.notifier.notify([userKey(userId), ...rooms.map(roomKey)]);
  }

  /** Moves idle users to unavailable and disconnected ones to offline; forgets those offline. */
  private sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((err) => this.log.error({ err }, 'presence sweep failed'))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    if (!this.adopted) await this.adoptStored();
    const { idle_timeout_ms: idleMs, offline_timeout_ms: offlineMs } = this.config.presence;
    const disconnected = (t: Tracked, now: number) => t.syncing === 0 && now - t.seenTs > offlineMs;
    const timedOut = (t: Tracked) => (fields: PresenceFields, now: number): PresenceFields =>
      fields.state !== 'offline' && disconnected(t, now) ? { ...fields, state: 'offline', currentlyActive: false }
      : fields.state === 'online' && now - fields.lastActiveTs > idleMs ? { ...fields, state: 'unavailable', currentlyActive: false }
      : fields;
    const changes: Promise<void>[] = [];
    const now = this.now();
    for (const [userId, t] of this.tracked) {
      if (!t.fields || t.busy > 0) continue;
      if (t.fields.state === 'offline') {
        if (t.syncing === 0) this.forget(userId, t);
      } else if (timedOut(t)(t.fields, now) !== t.fields) {
        changes.push(this.change(userId, t, timedOut(t)));
      }
    }
    await Promise.all(changes);
  }

  /** Takes over the users a previous run left online or unavailable: offline unless they sync soon. */
  private async adoptStored(): Promise<void> {
    const now = this.now();
    for (const row of await this.stores.presence.notOffline()) {
      if (this.tracked.has(row.userId) || !this.isLocal(row.userId)) continue;
      const fields: PresenceFields = { state: row.state, statusMsg: row.statusMsg, lastActiveTs: row.lastActiveTs, currentlyActive: row.currentlyActive };
      this.tracked.set(row.userId, { fields, storedActiveTs: row.lastActiveTs, syncing: 0, seenTs: now, queue: Promise.resolve(), busy: 0 });
    }
    this.adopted = true;
  }

  /** Drops an offline user's entry, storing their last-active time first if it is newer. */
  private forget(userId: string, tracked: Tracked): void {
    this.tracked.delete(userId);
    if (tracked.fields!.lastActiveTs > tracked.storedActiveTs) {
      this.inBackground(this.stores.presence.touch(userId, tracked.fields!.lastActiveTs));
    }
  }

  private inBackground(work: Promise<unknown>): void {
    const tracked = work.catch((err) => this.log.error({ err }, 'presence update failed'));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  private isLocal(userId: string): boolean {
    return parseUserId(userId)?.serverName === this.config.server_name;
  }
}

/**
 * Which PDUs go where: every timeline event sent by one of our users is queued
 * for each other server with a user joined to the room, and for a membership
 * event also for the server of the user it concerns (an invite or a kick must
 * reach them). Events from other servers are not sent on: their origin sends
 * them to every server in the room itself.
 *
 * Driven by the room stream, not by the events in memory: a persisted position
 * says how far the stream has been queued, and moves in the transaction that
 * queues, so an event committed just before a crash is queued on the next
 * start, and none is queued twice. The room engine's announcements only wake it.
 */
import type { Logger } from 'pino';
import { isValidServerName, parseUserId } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import type { MembershipChange } from '../../storage/federation-outbox';

/** Stream positions read per step. */
const PAGE = 500;
/** After a database failure, the next attempt waits this long (a new event wakes it sooner). */
const RETRY_MS = 1000;
/**
 * Positions that queued nothing are saved at most this often (and on stop):
 * a local-only server then writes nothing per event. After a crash the range
 * since is read again, and again queues nothing.
 */
const SAVE_IDLE_POSITION_MS = 5000;

export class PduFanOut {
  /** How far the stream is queued; read from the database once. */
  private position: number | undefined;
  /** The position as saved in the database (at most `position`). */
  private saved: number | undefined;
  private savedAt = 0;
  private draining: Promise<void> | undefined;
  /** Woken while draining: look again once done. */
  private again = false;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly stores: Stores,
    private readonly serverName: string,
    private readonly log: Logger,
    /** Called with the destinations that got new PDUs. */
    private readonly queued: (destinations: Iterable<string>) => void,
  ) {}

  /** The stream has moved: queue what is new, in the background. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    clearTimeout(this.retry);
    this.retry = undefined;
    const draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) this.wake();
    });
    this.draining = draining;
  }

  /** Resolves once every event readable when called is queued (or the fan-out stopped). */
  async caughtUp(): Promise<void> {
    const target = await this.stores.events.positions.latest();
    while (!this.stopped && (this.position === undefined || this.position < target)) {
      if (!this.draining) this.wake();
      await this.draining;
      if (this.retry !== undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.draining;
    if (this.position !== undefined && this.saved !== undefined && this.position > this.saved) {
      await this.stores.federationOutbox.queuePdus([], this.saved, this.position).catch((err) => this.log.error({ err }, 'could not save the fan-out position'));
    }
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && (await this.step()));
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.error({ err }, 'federation fan-out failed; retrying');
      this.position = this.saved = undefined;
      if (!this.stopped) {
        this.retry = setTimeout(() => this.wake(), RETRY_MS);
        this.retry.unref();
      }
    }
  }

  /** Queues one page of the stream; false when there is nothing more to read. */
  private async step(): Promise<boolean> {
    const upTo = await this.stores.events.positions.latest();
    if (this.position === undefined || this.saved === undefined) this.position = this.saved = await this.stores.federationOutbox.fanOutPosition();
    const from = this.position;
    if (from >= upTo) return false;
    const page = await this.stores.federationOutbox.eventsBySenderServer(from, upTo, this.serverName, PAGE);
    const to = page.length === PAGE ? page[page.length - 1].streamOrdering : upTo;
    const local = page.filter((e) => parseUserId(e.sender)?.serverName === this.serverName);
    const membership = await this.stores.federationOutbox.membershipSince([...new Set(local.map((e) => e.roomId))], from);

    const rows: { destination: string; eventId: string }[] = [];
    const destinations = new Set<string>();
    for (const event of local) {
      const changes = membership.changes.filter((c) => c.roomId === event.roomId && c.streamOrdering > event.streamOrdering);
      const targets = joinedServersAt(membership.joinedCounts.get(event.roomId), changes);
      const member = event.memberTarget === undefined ? undefined : parseUserId(event.memberTarget);
      if (member) targets.add(member.serverName);
      for (const destination of targets) {
        if (destination === this.serverName || !isValidServerName(destination)) continue;
        rows.push({ destination, eventId: event.eventId });
        destinations.add(destination);
      }
    }
    if (rows.length === 0 && Date.now() - this.savedAt < SAVE_IDLE_POSITION_MS) {
      this.position = to;
      return true;
    }
    if (!(await this.stores.federationOutbox.queuePdus(rows, this.saved, to))) {
      // The position moved under us (another sender over the same database): read it again.
      this.position = this.saved = undefined;
      return true;
    }
    this.position = this.saved = to;
    this.savedAt = Date.now();
    if (destinations.size > 0) this.queued(destinations);
    return true;
  }
}

/**
 * The servers with a user joined to a room just after an event: the servers'
 * current joined counts, with every membership change since the event undone
 * (`changesSince`, oldest first). The fan-out runs behind the stream, so the
 * current state may already hold later joins and leaves.
 */
export function joinedServersAt(current: ReadonlyMap<string, number> | undefined, changesSince: readonly MembershipChange[]): Set<string> {
  const counts = new Map(current);
  // Each change turned its previous membership into its own: undoing them all is a sum, in any order.
  for (const { userId, membership, prevMembership } of changesSince) {
    const server = userId.slice(userId.indexOf(':') + 1);
    const delta = (prevMembership === 'join' ? 1 : 0) - (membership === 'join' ? 1 : 0);
    if (delta !== 0) counts.set(server, (counts.get(server) ?? 0) + delta);
  }
  return new Set([...counts].filter(([, n]) => n > 0).map(([server]) => server));
}

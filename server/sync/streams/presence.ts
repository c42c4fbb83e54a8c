/**
 * The presence stream: `presence.events` holds the m.presence of the requester
 * and of users sharing a joined room with them, for each whose presence changed
 * in (since, to]. An initial sync gets everyone's current presence that is not
 * offline, and so do the members of a newly joined room and users who newly
 * joined one of the requester's rooms.
 */
import { eventAllowed } from '../../../spec/filter';
import type { Stores } from '../../../storage';
import type { PresenceRow } from '../../../storage/presence';
import type { Presence } from '../../presence/presence';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';
import type { Positions } from '../token';

export class PresenceStream implements SyncStream {
  readonly name = 'presence' as const;

  constructor(
    private readonly stores: Stores,
    private readonly presence: Presence,
  ) {}

  current(): Promise<number> {
    return this.stores.presence.positions.latest();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const to = ctx.to[this.name];
    if (ctx.since && ctx.since[this.name] === to && ctx.rooms.newlyJoined.size === 0 && (await ctx.rooms.membershipChanges()).length === 0) return;
    const rows = ctx.since === undefined ? await this.stores.presence.notOfflineVisibleTo(ctx.requester.userId, to) : await this.changes(ctx, ctx.since);
    const events = dedupe(rows)
      .map((row) => this.presence.eventOf(row))
      .filter((event) => eventAllowed(ctx.filter.presence, event));
    const { limit } = ctx.filter.presence;
    out.presence.push(...(limit === undefined ? events : events.slice(-limit)));
  }

  /** Changes in (since, to], after what newly shared rooms bring. */
  private async changes(ctx: SyncContext, since: Positions): Promise<PresenceRow[]> {
    const to = ctx.to[this.name];
    const changed = since[this.name] < to ? await this.stores.presence.changesVisibleTo(ctx.requester.userId, since[this.name], to) : [];
    return [...(await this.newRoomMates(ctx, since)), ...changed];
  }

  /**
   * The current presence (not offline) of the members of rooms the requester
   * newly joined and of users who joined the requester's rooms in (since, to]
   * of the room stream: they had no reason to be sent before.
   */
  private async newRoomMates(ctx: SyncContext, since: Positions): Promise<PresenceRow[]> {
    const to = ctx.to[this.name];
    const joiners = new Set<string>();
    for (const change of await ctx.rooms.membershipChanges()) {
      if (change.membership === 'join' && change.userId !== ctx.requester.userId && ctx.rooms.joined.has(change.roomId)) joiners.add(change.userId);
    }
    const rows = [
      ...(await this.stores.presence.notOfflineInRooms([...ctx.rooms.newlyJoined], to)),
      ...(await this.stores.presence.notOfflineAmong([...joiners], to)),
    ];
    return rows.filter((row) => row.userId !== ctx.requester.userId);
  }
}

/** Each user once, at their last entry. */
function dedupe(rows: PresenceRow[]): PresenceRow[] {
  const last = new Map(rows.map((row) => [row.userId, row]));
  return rows.filter((row) => last.get(row.userId) === row);
}

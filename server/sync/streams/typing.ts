/**
 * The typing stream: an `m.typing` ephemeral event in each joined room whose
 * typing set changed in (since, to]. An initial sync, and a newly joined room,
 * get the rooms where someone types. A token from an earlier run (below the
 * stream's start) gets every joined room's current set, empty ones included,
 * since what changed meanwhile is unknown.
 */
import { eventAllowed } from '../../../spec/filter';
import type { Typing } from '../../typing/typing';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';

export class TypingStream implements SyncStream {
  readonly name = 'typing' as const;

  constructor(private readonly typing: Typing) {}

  async current(): Promise<number> {
    return this.typing.current();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const since = ctx.since?.[this.name];
    const to = ctx.to[this.name];
    const longAgo = since !== undefined && since < this.typing.startPosition;
    if (since === to && ctx.rooms.newlyJoined.size === 0) return;
    for (const roomId of ctx.rooms.joined) {
      if (!eventAllowed(ctx.filter.room.ephemeral, { type: 'm.typing', room_id: roomId })) continue;
      const { userIds, changedAt } = this.typing.in(roomId);
      const send =
        since === undefined || ctx.rooms.newlyJoined.has(roomId) ? userIds.length > 0
        : longAgo || (changedAt !== undefined && changedAt > since && changedAt <= to);
      if (send) out.addEphemeral(roomId, { type: 'm.typing', content: { user_ids: userIds } });
    }
  }
}

/**
 * The room event stream: joined, invited, knocked and left rooms, with their
 * timelines and state. Its position is the events' stream ordering.
 */
import type { Stores } from '../../../storage';
import type { PersistedEvent } from '../../rooms/event-bus';
import { roomKey, userKey, type WakeKey } from '../notifier';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';

/** Whom a new room event concerns: the room, and the target of a membership change (an invitee is not in the room yet). */
export function wakeKeysOf({ event, roomId }: PersistedEvent): WakeKey[] {
  const keys = [roomKey(roomId)];
  if (event.pdu.type === 'm.room.member' && event.pdu.state_key !== undefined) keys.push(userKey(event.pdu.state_key));
  return keys;
}

export class RoomStream implements SyncStream {
  readonly name = 'rooms' as const;

  constructor(private readonly stores: Stores) {}

  current(): Promise<number> {
    return this.stores.events.latestStreamOrdering();
  }

  async sync(ctx: SyncContext, _out: SyncBuilder): Promise<void> {
    const joined = await this.stores.memberships.roomsOf(ctx.requester.userId, ['join']);
    ctx.rooms = { joined: new Set(joined), newlyJoined: new Set(), newlyLeft: new Set() };
  }
}

/**
 * Memberships of our users in rooms this server is not in: an invite another
 * server sent (server-server-api "Inviting to a room"), a knock or a leave
 * that a resident server accepted through the make/send handshake ("Knocking
 * upon a room", "Leaving Rooms"). The room's events and state are unknown
 * here, so the membership event stays outside the DAG (an outlier), but it gets
 * a stream position and becomes the user's entry in the room's current state:
 * /sync then shows the invite or knock with the stripped state that came with
 * it, or the room as left, and the user can answer it. A later join through
 * send_join replaces that state with the room's (RemoteEvents.acceptRoomState).
 */
import { badJson } from '../../spec/errors';
import { stateTuple, type RoomEvent } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';
import type { EventBus, PersistedEvent } from './event-bus';
import type { StrippedStateEvent } from './stripped-state';

export interface OutOfBandMembership {
  roomId: string;
  version: RoomVersion;
  /** An m.room.member event whose state_key is one of our users, signed as it will stand. */
  event: RoomEvent;
  /** What the user is shown of the room: an invite's or a knock's stripped state. */
  strippedState?: readonly StrippedStateEvent[];
}

export class OutOfBandMemberships {
  constructor(
    private readonly stores: Stores,
    private readonly bus: EventBus,
  ) {}

  /** Stores the membership and announces it (to /sync and push) as a new event; nothing happens if it is stored already. */
  async store({ roomId, version, event, strippedState }: OutOfBandMembership): Promise<void> {
    const { pdu } = event;
    if (pdu.type !== 'm.room.member' || pdu.state_key === undefined) throw badJson('an out-of-band membership must be an m.room.member event');
    const published: PersistedEvent[] = [];
    await this.stores.rooms.withLock(roomId, async (trx) => {
      const room = await this.stores.rooms.get(roomId, trx);
      if (!room) await this.stores.rooms.create(roomId, version.id, trx);
      else if (room.version !== version.id) throw badJson(`room ${roomId} has version ${room.version}, not ${version.id}`);
      const { streamOrdering, alreadyStored } = await this.stores.events.persistOutOfBand(trx, roomId, event);
      if (alreadyStored || streamOrdering === null) return;
      if (strippedState) await this.stores.strippedState.set(trx, event.id, strippedState);
      const current = await this.stores.roomState.currentStateGroup(roomId, trx);
      const group = await this.stores.stateGroups.create(trx, roomId, current, new Map([[stateTuple(pdu.type, pdu.state_key!), event.id]]));
      await this.stores.roomState.setCurrentState(trx, roomId, group, { outOfBand: true });
      const announced = { event, roomId, streamOrdering };
      await this.bus.persisting(trx, announced);
      published.push(announced);
    });
    if (published.length === 0) return;
    await this.stores.events.positions.caughtUp();
    for (const p of published) this.bus.publish(p);
  }
}

/**
 * A remote user's join without inbound federation: the join is built on the
 * room's current state and forward extremities, signed by a key of the user's
 * server, authorised against the current state, persisted as accepted, made
 * current and published on the event bus, as the room engine does for its own
 * events. For tests and benches of what reads room membership (the federation
 * sender): the room then holds a remote joined member as it will once inbound
 * federation accepts one.
 */
import { generateSigningKey } from '../../server/config/signing-key';
import { buildEvent } from '../../server/rooms/event-builder';
import { authEventsSelection } from '../../spec/auth-events';
import { authorize } from '../../spec/auth-rules';
import type { RoomEvent } from '../../spec/pdu';
import { CREATE_TUPLE } from '../../spec/power-levels';
import { roomVersion } from '../../spec/room-versions';
import { parseSigningKey } from '../../spec/signing-key';
import { signingKeyPair } from '../../spec/signing';
import type { TestServer } from './server';

export async function persistRemoteJoin(server: TestServer, roomId: string, userId: string): Promise<RoomEvent> {
  const { stores, events: bus } = server.hs.services;
  const serverName = userId.slice(userId.indexOf(':') + 1);
  const signingKey = signingKeyPair(parseSigningKey(generateSigningKey()));
  const persisted = await stores.rooms.withLock(roomId, async (trx) => {
    const room = (await stores.rooms.get(roomId, trx))!;
    const version = roomVersion(room.version)!;
    const draft = { type: 'm.room.member', sender: userId, stateKey: userId, content: { membership: 'join' } };
    const tuples = new Set(authEventsSelection({ ...draft, state_key: userId }, version));
    tuples.add(CREATE_TUPLE);
    const state = await stores.roomState.currentStateEvents(roomId, tuples, trx);
    const extremities = await stores.events.forwardExtremities(roomId, trx);
    const sha256 = version.eventIdFormat === 'v1' ? await stores.events.get(extremities.map((e) => e.eventId), trx) : undefined;
    const parents = extremities.map((e) => ({ id: e.eventId, depth: e.depth, sha256: sha256?.get(e.eventId)?.event.pdu.hashes.sha256 ?? '' }));
    const event = buildEvent(draft, { version, roomId, serverName, signingKey, nowMs: Date.now(), state, parents });
    authorize(event, state, version);
    const stateGroupBefore = await stores.roomState.currentStateGroup(roomId, trx);
    const written = await stores.events.persist(trx, { event, roomId, status: 'accepted', stateGroupBefore });
    await stores.roomState.setCurrentState(trx, roomId, written.stateGroupAfter!);
    return { event, roomId, streamOrdering: written.streamOrdering! };
  });
  await stores.events.positions.caughtUp();
  bus.publish(persisted);
  return persisted.event;
}

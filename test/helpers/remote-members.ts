/**
 * A remote user's join without inbound federation (see appendRemoteEvent in
 * ./federation.ts): for tests and benches of what reads room membership (the
 * federation sender): the room then holds a remote joined member as it will
 * once inbound federation accepts one.
 */
import { appendRemoteEvent, remoteIdentity } from './federation';
import type { TestServer } from './server';

/** Joins `userId` (of another server) to a local room; resolves with the join's event ID. */
export function persistRemoteJoin(server: TestServer, roomId: string, userId: string): Promise<string> {
  const identity = remoteIdentity(userId.slice(userId.indexOf(':') + 1));
  return appendRemoteEvent(server.hs.services, identity, roomId, { type: 'm.room.member', sender: userId, stateKey: userId, content: { membership: 'join' } });
}

/**
 * POST /rooms/{roomId}/forget (leaving.yaml, "Leaving rooms"): a user who has
 * left (or was never in, or was banned from) a room stops remembering it until
 * their membership next changes. /sync and the history APIs ask
 * `stores.forgottenRooms.isForgotten`.
 */
import { MatrixError, notFound } from '../../spec/errors';
import type { Stores } from '../../storage';
import type { Requester } from '../http/route';

const STILL_IN_ROOM: ReadonlySet<string> = new Set(['join', 'invite', 'knock']);

export async function forgetRoom(stores: Stores, requester: Requester, roomId: string): Promise<void> {
  if (!(await stores.rooms.get(roomId))) throw notFound('Unknown room');
  const member = await stores.roomState.currentStateEvent(roomId, 'm.room.member', requester.userId);
  const membership = member?.pdu.content.membership;
  if (typeof membership === 'string' && STILL_IN_ROOM.has(membership)) {
    throw new MatrixError(400, 'M_UNKNOWN', `User ${requester.userId} is in room ${roomId}`);
  }
  await stores.forgottenRooms.forget(requester.userId, roomId, member?.id ?? null);
}

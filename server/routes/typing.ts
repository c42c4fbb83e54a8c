/** PUT /rooms/{roomId}/typing/{userId} (typing.yaml). */
import { forbidden, invalidParam } from '../../spec/errors';
import { isValidRoomId } from '../../spec/identifiers';
import { typingBody } from '../../spec/schemas/typing';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import { DEFAULT_TYPING_TIMEOUT_MS } from '../typing/typing';

export function typingRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'PUT',
      path: '/_matrix/client/v3/rooms/:roomId/typing/:userId',
      rateLimit: 'request',
      body: typingBody,
      handler: async ({ requester, params: { roomId, userId }, body }) => {
        if (userId !== requester.userId) throw forbidden('Cannot set the typing state of another user');
        if (!isValidRoomId(roomId)) throw invalidParam(`'${roomId}' is not a valid room ID`);
        await s.typing.set(userId, roomId, body.typing ? (body.timeout ?? DEFAULT_TYPING_TIMEOUT_MS) : null);
        return {};
      },
    }),
  ];
}

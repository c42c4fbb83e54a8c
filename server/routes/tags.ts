/** GET /user/{userId}/rooms/{roomId}/tags, PUT and DELETE .../tags/{tag} (tags.yaml). */
import { forbidden, invalidParam } from '../../spec/errors';
import { isValidRoomId } from '../../spec/identifiers';
import { checkTagName, tagBody, type TagBody } from '../../spec/schemas/tags';
import { authed, type AuthedRequest, type Route } from '../http/route';
import type { Services } from '../services';

const TAGS = '/_matrix/client/v3/user/:userId/rooms/:roomId/tags';

/** The (user, room) a request addresses, after checking it is the requester's own. */
function target(req: AuthedRequest<unknown>): { userId: string; roomId: string } {
  const { userId, roomId } = req.params;
  if (userId !== req.requester.userId) throw forbidden("Cannot access another user's tags");
  if (!isValidRoomId(roomId)) throw invalidParam(`'${roomId}' is not a valid room ID`);
  return { userId, roomId };
}

function tagParam(req: AuthedRequest<unknown>): string {
  checkTagName(req.params.tag);
  return req.params.tag;
}

export function tagRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'GET',
      path: TAGS,
      handler: async (req) => {
        const { userId, roomId } = target(req);
        return { tags: await s.tags.of(userId, roomId) };
      },
    }),
    authed({
      method: 'PUT',
      path: `${TAGS}/:tag`,
      body: tagBody,
      handler: async (req: AuthedRequest<TagBody>) => {
        const { userId, roomId } = target(req);
        await s.tags.add(userId, roomId, tagParam(req), req.body);
        return {};
      },
    }),
    authed({
      method: 'DELETE',
      path: `${TAGS}/:tag`,
      handler: async (req) => {
        const { userId, roomId } = target(req);
        await s.tags.remove(userId, roomId, tagParam(req));
        return {};
      },
    }),
  ];
}

/**
 * Client config (account_data module): GET/PUT /user/{userId}/account_data/{type}
 * and /user/{userId}/rooms/{roomId}/account_data/{type}.
 */
import { forbidden, invalidParam, MatrixError, notFound } from '../../spec/errors';
import { isValidRoomId, MAX_ID_BYTES } from '../../spec/identifiers';
import { authed, type AuthedRequest, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

/** Types the server manages; clients read them here but set them through their own APIs. */
const SERVER_MANAGED_TYPES = new Set(['m.fully_read', 'm.push_rules']);

/** The (user, room, type) a request addresses, after checking it is the requester's own. */
function target(req: AuthedRequest<unknown>): { userId: string; roomId: string | null; type: string } {
  const { userId, roomId, type } = req.params;
  if (userId !== req.requester.userId) throw forbidden("Cannot access another user's account data");
  if (roomId !== undefined && !isValidRoomId(roomId)) throw invalidParam(`'${roomId}' is not a valid room ID`);
  if (Buffer.byteLength(type, 'utf8') > MAX_ID_BYTES) throw invalidParam(`Type may not be longer than ${MAX_ID_BYTES} bytes`);
  return { userId, roomId: roomId ?? null, type };
}

export function accountDataRoutes(s: Services): Route<any>[] {
  const get = async (req: AuthedRequest<unknown>) => {
    const { userId, roomId, type } = target(req);
    const content = await s.accountData.get(userId, roomId, type);
    if (content === undefined) throw notFound(`No account data of type '${type}'`);
    return content;
  };
  const put = async (req: AuthedRequest<Record<string, unknown>>) => {
    const { userId, roomId, type } = target(req);
    if (SERVER_MANAGED_TYPES.has(type)) {
      throw new MatrixError(405, 'M_BAD_JSON', `Cannot set ${type} through this API`);
    }
    await s.accountData.put(userId, roomId, type, req.body);
    return {};
  };
  return [
    authed({ method: 'GET', path: `${V3}/user/:userId/account_data/:type`, handler: get }),
    authed({ method: 'PUT', path: `${V3}/user/:userId/account_data/:type`, handler: put }),
    authed({ method: 'GET', path: `${V3}/user/:userId/rooms/:roomId/account_data/:type`, handler: get }),
    authed({ method: 'PUT', path: `${V3}/user/:userId/rooms/:roomId/account_data/:type`, handler: put }),
  ];
}

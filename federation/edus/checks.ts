/** What every inbound EDU handler checks about where an EDU comes from. */
import { parseUserId } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import { aclAllows } from '../reads/server-access';

/** Whether `userId` is a user of `origin`: a server speaks only for its own users. */
export const isUserOf = (origin: string, userId: string): boolean => parseUserId(userId)?.serverName === origin;

/** Whether this server is in the room and the room's server ACL lets `origin` in. */
export async function roomOpenTo(stores: Stores, roomId: string, origin: string): Promise<boolean> {
  return (await stores.rooms.get(roomId)) !== undefined && (await aclAllows(stores, roomId, origin));
}

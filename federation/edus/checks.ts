/** What every inbound EDU handler checks about where an EDU comes from. */
import { parseUserId } from '../../spec/identifiers';
import { serverAclAllows } from '../../spec/server-acl';
import type { Stores } from '../../storage';

/** Whether `userId` is a user of `origin`: a server speaks only for its own users. */
export const isUserOf = (origin: string, userId: string): boolean => parseUserId(userId)?.serverName === origin;

/** Whether this server is in the room and the room's server ACL lets `origin` in. */
export async function roomOpenTo(stores: Stores, roomId: string, origin: string): Promise<boolean> {
  if (!(await stores.rooms.get(roomId))) return false;
  const acl = await stores.roomState.currentStateEvent(roomId, 'm.room.server_acl', '');
  return serverAclAllows(acl?.pdu.content, origin);
}

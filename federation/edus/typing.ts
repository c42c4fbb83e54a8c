/**
 * Inbound m.typing (server-server-api.md, "Typing Notifications"): for a user
 * of the sending server, joined to a room we are in whose ACL admits that
 * server. The EDU has no timeout: the typing ends after `timeoutMs()` unless
 * the server says so sooner, or repeats it.
 */
import { typingEdu } from '../../spec/schemas/edus';
import type { Services } from '../../server/services';
import type { EduHandler } from '../inbound/transactions';
import { isUserOf, roomOpenTo } from './checks';

export function typingHandler(services: Pick<Services, 'stores' | 'typing'>, timeoutMs: () => number): EduHandler {
  return async (origin, content) => {
    if (!typingEdu(content) || !isUserOf(origin, content.user_id)) return;
    if (!(await roomOpenTo(services.stores, content.room_id, origin))) return;
    await services.typing.setRemote(content.room_id, content.user_id, content.typing, timeoutMs());
  };
}

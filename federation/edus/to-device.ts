/**
 * Inbound m.direct_to_device (server-server-api.md, "Send-to-device
 * messaging"): messages from a user of the sending server to our users'
 * devices (`*`: all of a user's devices). A message ID is handled once per
 * origin, however often its transaction, or another, carries it; the IDs are
 * kept for a week.
 */
import { directToDeviceEdu } from '../../spec/schemas/edus';
import type { Services } from '../../server/services';
import type { EduHandler } from '../inbound/transactions';
import { isUserOf } from './checks';
import type { BackgroundTasks } from './tasks';

const KEEP_MESSAGE_IDS_MS = 7 * 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;

export function toDeviceHandler(services: Pick<Services, 'stores' | 'toDevice'>, tasks: BackgroundTasks, now: () => number = Date.now): EduHandler {
  let prunedAt = 0;
  return async (origin, content) => {
    if (!directToDeviceEdu(content) || !isUserOf(origin, content.sender)) return;
    await services.toDevice.deliverRemote(origin, content.message_id, content.sender, content.type, content.messages);
    if (now() - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = now();
      tasks.run('could not prune received to-device message IDs', () => services.stores.deviceInbox.pruneRemoteMessages(now() - KEEP_MESSAGE_IDS_MS));
    }
  };
}

/**
 * Inbound m.presence (server-server-api.md, "Presence"): updates of users of
 * the sending server who share a room with one of ours (nobody here may see
 * anyone else's). Ignored while presence is disabled.
 */
import { presenceEdu } from '../../spec/schemas/edus';
import type { PresenceFields } from '../../storage/presence';
import type { Services } from '../../server/services';
import type { EduHandler } from '../inbound/transactions';
import { isUserOf } from './checks';

export function presenceHandler(services: Pick<Services, 'config' | 'stores' | 'presence'>, now: () => number = Date.now): EduHandler {
  return async (origin, content) => {
    if (!services.presence.enabled || !presenceEdu(content)) return;
    const updates: (PresenceFields & { userId: string })[] = [];
    for (const update of content.push) {
      if (!isUserOf(origin, update.user_id)) continue;
      if (!(await services.stores.memberships.sharesARoomWithServer(update.user_id, services.config.server_name))) continue;
      updates.push({
        userId: update.user_id,
        state: update.presence,
        statusMsg: update.status_msg ?? null,
        lastActiveTs: now() - update.last_active_ago,
        currentlyActive: update.presence === 'online' && update.currently_active === true,
      });
    }
    await services.presence.applyRemote(updates);
  };
}

/**
 * TEMPORARY stand-in for federation/sender until it lands in main: sends each
 * EDU at once in a transaction of its own, without storing or retrying it.
 */
import { isValidServerName } from '../../spec/identifiers';
import type { Services } from '../../server/services';
import type { FederationClient } from '../client';
import type { Edu, EduSender } from './outbound';

export function directEduSender(services: Services, client: FederationClient): EduSender {
  const serverName = services.config.server_name;
  let txn = 0;
  return {
    async sendEdu(destinations, edu: Edu) {
      const targets = [...new Set(destinations)].filter((d) => d !== serverName && isValidServerName(d));
      await Promise.all(
        targets.map((destination) =>
          client
            .put(destination, `/_matrix/federation/v1/send/direct.${Date.now()}.${++txn}`, { origin: serverName, origin_server_ts: Date.now(), pdus: [], edus: [edu] })
            .catch((err) => services.log.warn({ err, destination }, 'could not send an EDU')),
        ),
      );
    },
    async serversInRoom(roomId) {
      if (!(await services.stores.rooms.get(roomId))) return [];
      const members = await services.stores.memberships.members(roomId, { membership: 'join' });
      return [...new Set(members.map((m) => m.userId.slice(m.userId.indexOf(':') + 1)))].filter((s) => s !== serverName);
    },
  };
}

/**
 * Everything outside the room DAG that crosses servers (docs/federation.md,
 * "EDUs and remote users' devices"): the inbound EDU handlers, registered with
 * the transaction receiver; the outbound EDUs, from the local modules' hooks;
 * and other servers' users' keys for /keys/query and /keys/claim.
 */
import { parseUserId } from '../../spec/identifiers';
import type { Logger } from '../../server/log';
import type { Services } from '../../server/services';
import type { FederationClient } from '../client';
import type { TransactionReceiver } from '../inbound/transactions';
import { RemoteDeviceLists } from './device-lists';
import { OutboundEdus, type EduSender } from './outbound';
import { presenceHandler } from './presence';
import { receiptHandler } from './receipts';
import { RemoteKeys } from './remote-keys';
import { BackgroundTasks } from './tasks';
import { toDeviceHandler } from './to-device';
import { typingHandler } from './typing';

export type { EduSender } from './outbound';

/** How long another server's user counts as typing after its m.typing, which carries no timeout (as our clients' default). */
export const REMOTE_TYPING_TIMEOUT_MS = 30_000;

export interface EdusOptions {
  services: Services;
  client: FederationClient;
  transactions: TransactionReceiver;
  /** Without one (this process sends nothing to other servers), local changes are not sent on. */
  sender?: EduSender;
  log: Logger;
}

export class Edus {
  /** How long another server's user types after its m.typing (tests shorten it). */
  remoteTypingTimeoutMs = REMOTE_TYPING_TIMEOUT_MS;
  /** Other servers' users' device lists: the cache, its updates and full fetches. */
  readonly deviceLists: RemoteDeviceLists;
  private readonly tasks: BackgroundTasks;

  constructor({ services, client, transactions, sender, log }: EdusOptions) {
    this.tasks = new BackgroundTasks(log.child({ component: 'edus' }));
    this.deviceLists = new RemoteDeviceLists(services, client, this.tasks);
    transactions.onEdu('m.typing', typingHandler(services, () => this.remoteTypingTimeoutMs));
    transactions.onEdu('m.receipt', receiptHandler(services));
    transactions.onEdu('m.presence', presenceHandler(services));
    transactions.onEdu('m.direct_to_device', toDeviceHandler(services, this.tasks));
    transactions.onEdu('m.device_list_update', this.deviceLists.onDeviceListUpdate);
    transactions.onEdu('m.signing_key_update', this.deviceLists.onSigningKeyUpdate);
    services.e2ee.keys.setRemote(new RemoteKeys(services.stores, client, this.deviceLists));
    if (sender) new OutboundEdus(services, sender, this.tasks).start();
    services.events.subscribe(({ event, roomId }) => {
      const { type, state_key: userId, content } = event.pdu;
      if (type !== 'm.room.member' || userId === undefined || (content.membership !== 'leave' && content.membership !== 'ban')) return;
      this.tasks.run(`could not forget device lists after a membership change in ${roomId}`, () => this.forgetAfterLeave(services, roomId, userId));
    });
  }

  /** Whose cached device lists a membership ending may leave untracked: the user's, or, for one of ours, the room's remote members'. */
  private async forgetAfterLeave(services: Services, roomId: string, userId: string): Promise<void> {
    const ours = (id: string) => parseUserId(id)?.serverName === services.config.server_name;
    const candidates = ours(userId) ? (await services.stores.memberships.members(roomId, { membership: 'join' })).map((m) => m.userId) : [userId];
    await this.deviceLists.forgetUntracked(candidates.filter((id) => !ours(id)));
  }

  /** Resolves once the work started in the background has ended (before the database closes). */
  stop(): Promise<void> {
    return this.tasks.idle();
  }
}

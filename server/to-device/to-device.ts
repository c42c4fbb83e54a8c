/**
 * Send-to-device messaging (send_to_device module): messages go into the
 * target devices' queues (storage/device-inbox.ts) and wake exactly those
 * devices' syncs. Messages to users on other servers go to the hook federation
 * sets (onRemoteMessages), which queues them for their servers; messages from
 * other servers' users arrive through deliverRemote. Unknown users and
 * devices are skipped silently, as Synapse does.
 */
import { parseUserId } from '../../spec/identifiers';
import { ALL_DEVICES, type SendToDeviceBody } from '../../spec/schemas/to-device';
import type { Stores } from '../../storage';
import type { OutgoingMessage } from '../../storage/device-inbox';
import { deviceKey, type Notifier } from '../sync/notifier';

export interface Sender {
  userId: string;
  deviceId: string;
}

/**
 * Takes one request's messages to other servers' users (user ID → device ID or
 * `*` → content) and resolves once they are queued for their servers. The same
 * request retried (same sender and txnId) may call it again: it must then
 * queue messages the receiving servers recognise as the same.
 */
export type RemoteMessagesHook = (sender: Sender, type: string, txnId: string, messages: SendToDeviceBody['messages']) => Promise<void>;

export class ToDevice {
  private remoteHook?: RemoteMessagesHook;

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
    private readonly serverName: string,
  ) {}

  /**
   * Queues one message per addressed device. A repeated transaction ID of the
   * same sending device changes nothing.
   */
  async send(sender: Sender, type: string, txnId: string, messages: SendToDeviceBody['messages']): Promise<void> {
    const servers = new Map(Object.keys(messages).map((userId) => [userId, parseUserId(userId)?.serverName]));
    const local = [...servers.keys()].filter((userId) => servers.get(userId) === this.serverName);
    const remote = [...servers.keys()].filter((userId) => servers.get(userId) !== undefined && servers.get(userId) !== this.serverName);
    // Before the transaction ID is claimed: a request that fails here is retried whole, and a retry after success queues nothing.
    if (remote.length > 0 && this.remoteHook && !(await this.stores.deviceInbox.txnClaimed(sender, txnId))) {
      await this.remoteHook(sender, type, txnId, Object.fromEntries(remote.map((userId) => [userId, messages[userId]])));
    }
    const queued = await this.stores.db.transaction(async (trx) => {
      if (!(await this.stores.deviceInbox.claimTxn(trx, sender, txnId))) return [];
      const devices = await this.stores.deviceInbox.devicesOf(trx, local);
      const outgoing = local.flatMap((userId) => addressed(userId, messages[userId], devices.get(userId)));
      await this.stores.deviceInbox.enqueue(trx, sender.userId, type, outgoing);
      return outgoing;
    });
    await this.stores.deviceInbox.positions.caughtUp();
    this.notifier.notify(queued.map((m) => deviceKey(m.userId, m.deviceId)));
  }

  /** Sets where messages to other servers' users go (federation). */
  onRemoteMessages(hook: RemoteMessagesHook): void {
    this.remoteHook = hook;
  }

  /**
   * Messages from another server's user (an m.direct_to_device EDU) to local
   * users' devices, `*` addressing all of a user's devices. Handled once per
   * origin and message ID: returns false for one received before.
   */
  async deliverRemote(origin: string, messageId: string, sender: string, type: string, messages: SendToDeviceBody['messages']): Promise<boolean> {
    const local = Object.keys(messages).filter((userId) => parseUserId(userId)?.serverName === this.serverName);
    const queued = await this.stores.db.transaction(async (trx) => {
      if (!(await this.stores.deviceInbox.claimRemoteMessage(trx, origin, messageId))) return undefined;
      const devices = await this.stores.deviceInbox.devicesOf(trx, local);
      const outgoing = local.flatMap((userId) => addressed(userId, messages[userId], devices.get(userId)));
      await this.stores.deviceInbox.enqueue(trx, sender, type, outgoing);
      return outgoing;
    });
    if (queued === undefined) return false;
    await this.stores.deviceInbox.positions.caughtUp();
    this.notifier.notify(queued.map((m) => deviceKey(m.userId, m.deviceId)));
    return true;
  }
}

/**
 * The messages for one user's existing devices: `*` addresses all of them, and
 * a device named as well gets its own message instead.
 */
function addressed(userId: string, byDevice: Record<string, Record<string, unknown>>, existing: Set<string> | undefined): OutgoingMessage[] {
  if (!existing) return [];
  const everyone = byDevice[ALL_DEVICES];
  const targets = everyone !== undefined ? [...existing] : Object.keys(byDevice).filter((deviceId) => existing.has(deviceId));
  return targets.map((deviceId) => ({ userId, deviceId, content: byDevice[deviceId] ?? everyone }));
}

/**
 * Send-to-device messaging (send_to_device module): messages go into the
 * target devices' queues (storage/device-inbox.ts) and wake exactly those
 * devices' syncs. Only local users are served for now: messages to users on
 * other servers are dropped until federation sends them on. Unknown users and
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

export class ToDevice {
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
    const local = Object.keys(messages).filter((userId) => parseUserId(userId)?.serverName === this.serverName);
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

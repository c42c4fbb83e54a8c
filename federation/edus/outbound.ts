/**
 * EDUs for other servers, from the local modules' hooks (server/ never imports
 * federation/): our users' typing and public read receipts to the other
 * servers of the room; their presence changes to the servers sharing a room
 * with them; their to-device messages to the recipients' servers; their device
 * list and cross-signing key changes to the servers sharing a room with them.
 * The sender stores each EDU, then delivers it in transactions.
 */
import { createHash } from 'node:crypto';
import { withSignatures, type JsonObject } from '../../spec/e2e-keys';
import { parseUserId } from '../../spec/identifiers';
import type { SendToDeviceBody } from '../../spec/schemas/to-device';
import type { LocalDeviceListChange } from '../../server/e2ee/device-lists';
import { presenceContent } from '../../server/presence/presence';
import type { PublicReceipt } from '../../server/receipts/receipts';
import type { Services } from '../../server/services';
import type { Sender } from '../../server/to-device/to-device';
import type { PresenceFields } from '../../storage/presence';
import type { BackgroundTasks } from './tasks';

export interface Edu {
  edu_type: string;
  content: Record<string, unknown>;
}

/** The outbound queue as the EDUs use it (federation/sender). */
export interface EduSender {
  /** Stores `edu` for each destination, then delivers it; `coalesceKey` replaces an unsent EDU with the same key. */
  sendEdu(destinations: Iterable<string>, edu: Edu, coalesceKey?: string): Promise<void>;
  /** The other servers with a user joined to the room. */
  serversInRoom(roomId: string): Promise<string[]>;
}

/** Longest message_id the spec allows (32 codepoints). */
const MESSAGE_ID_LENGTH = 32;

export class OutboundEdus {
  private readonly serverName: string;

  constructor(
    private readonly services: Services,
    private readonly sender: EduSender,
    private readonly tasks: BackgroundTasks,
    private readonly now: () => number = Date.now,
  ) {
    this.serverName = services.config.server_name;
  }

  /** Subscribes to the local modules' changes. */
  start(): void {
    const { typing, receipts, presence, toDevice, e2ee } = this.services;
    typing.onChange((roomId, userId, isTyping) => this.inBackground('m.typing', userId, () => this.typing(roomId, userId, isTyping)));
    receipts.onPublicReceipt((receipt) => this.inBackground('m.receipt', receipt.userId, () => this.receipt(receipt)));
    if (presence.enabled) presence.onLocalChange((userId, fields) => this.inBackground('m.presence', userId, () => this.presence(userId, fields)));
    toDevice.onRemoteMessages((sender, type, txnId, messages) => this.toDevice(sender, type, txnId, messages));
    e2ee.deviceLists.onLocalChange((change) =>
      this.inBackground('m.device_list_update', change.userId, () => this.tasks.inOrder(`device lists ${change.userId}`, () => this.deviceLists(change))),
    );
  }

  private inBackground(type: string, userId: string, work: () => Promise<void>): void {
    if (!this.isLocal(userId)) return;
    this.tasks.run(`could not queue ${type} of ${userId}`, work);
  }

  private async typing(roomId: string, userId: string, typing: boolean): Promise<void> {
    const edu = { edu_type: 'm.typing', content: { room_id: roomId, user_id: userId, typing } };
    await this.sender.sendEdu(await this.sender.serversInRoom(roomId), edu, `m.typing ${roomId} ${userId}`);
  }

  /** Only m.read is defined over federation; m.read.private never leaves the server (Receipts does not announce it). */
  private async receipt({ roomId, userId, type, eventId, threadId, ts }: PublicReceipt): Promise<void> {
    if (type !== 'm.read') return;
    const data = threadId === undefined ? { ts } : { ts, thread_id: threadId };
    const edu = { edu_type: 'm.receipt', content: { [roomId]: { 'm.read': { [userId]: { event_ids: [eventId], data } } } } };
    // A later receipt of the user in the room's same thread supersedes an unsent one.
    await this.sender.sendEdu(await this.sender.serversInRoom(roomId), edu, `m.receipt ${roomId} ${userId} ${threadId ?? ''}`);
  }

  private async presence(userId: string, fields: PresenceFields): Promise<void> {
    const content = presenceContent(fields, this.now());
    const update = { user_id: userId, ...content, last_active_ago: content.last_active_ago ?? this.now() };
    await this.sender.sendEdu(await this.serversSharingARoomWith(userId), { edu_type: 'm.presence', content: { push: [update] } }, `m.presence ${userId}`);
  }

  /**
   * One m.direct_to_device per server for one request. Its message_id derives
   * from the sending device, its transaction ID and the server: a retried
   * request queues the same message again, which the receiver recognises.
   */
  private async toDevice(sender: Sender, type: string, txnId: string, messages: SendToDeviceBody['messages']): Promise<void> {
    const byServer = new Map<string, SendToDeviceBody['messages']>();
    for (const [userId, devices] of Object.entries(messages)) {
      const server = parseUserId(userId)!.serverName;
      if (!byServer.has(server)) byServer.set(server, {});
      byServer.get(server)![userId] = devices;
    }
    await Promise.all(
      [...byServer].map(([server, forServer]) => {
        const messageId = createHash('sha256').update(JSON.stringify([sender.userId, sender.deviceId, txnId, server])).digest('base64url').slice(0, MESSAGE_ID_LENGTH);
        const content = { sender: sender.userId, type, message_id: messageId, messages: forServer };
        return this.sender.sendEdu([server], { edu_type: 'm.direct_to_device', content });
      }),
    );
  }

  /**
   * An m.device_list_update per device changed, each with the position of its
   * change as stream_id and the one sent before as prev_id (the position GET
   * /user/devices reports covers both); an m.signing_key_update for a
   * cross-signing change. Each device's state is read when sent: an update
   * replaces the receiver's entry for the device. The last stream_id moves on
   * even when no server shares a room with the user: a server that cached the
   * list before then sees it missed updates.
   */
  private async deviceLists({ userId, devices, crossSigning }: LocalDeviceListChange): Promise<void> {
    const { stores } = this.services;
    const destinations = await this.serversSharingARoomWith(userId);
    let prev = await stores.remoteDevices.lastUpdateSent(userId);
    const keysByDevice = new Map((await stores.deviceKeys.forUsers([userId])).map((d) => [d.deviceId, d.keys]));
    for (const { deviceId, streamId } of devices) {
      if (streamId <= prev) continue;
      const content: Record<string, unknown> = { user_id: userId, device_id: deviceId, stream_id: streamId, prev_id: prev > 0 ? [prev] : [] };
      const device = await stores.devices.get(userId, deviceId);
      if (!device) {
        content.deleted = true;
      } else {
        if (device.displayName !== null) content.device_display_name = device.displayName;
        const keys = keysByDevice.get(deviceId);
        if (keys) content.keys = keys;
      }
      await this.sender.sendEdu(destinations, { edu_type: 'm.device_list_update', content });
      await stores.remoteDevices.setLastUpdateSent(userId, streamId);
      prev = streamId;
    }
    if (crossSigning) {
      const keys = await stores.crossSigning.keysOfUser(userId);
      const content: Record<string, unknown> = { user_id: userId };
      if (keys.master) {
        const own = (await stores.crossSigning.masterKeySignatures([userId], null)).filter((s) => s.publicKey === keys.master!.publicKey);
        content.master_key = withSignatures(keys.master.key as JsonObject, own);
      }
      if (keys.self_signing) content.self_signing_key = keys.self_signing.key;
      await this.sender.sendEdu(destinations, { edu_type: 'm.signing_key_update', content });
    }
  }

  /** The other servers with a user joined to a room the user is joined to. */
  private async serversSharingARoomWith(userId: string): Promise<string[]> {
    const servers = new Set<string>();
    for (const roomId of await this.services.stores.memberships.roomsOf(userId, ['join'])) {
      for (const server of await this.sender.serversInRoom(roomId)) servers.add(server);
    }
    return [...servers];
  }

  private isLocal(userId: string): boolean {
    return parseUserId(userId)?.serverName === this.serverName;
  }
}

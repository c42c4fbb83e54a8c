/**
 * The to-device stream: the requesting device's queued messages with positions
 * in (since, to], oldest first, at most 100 per response (the spec's
 * recommendation); when more remain, next_batch stops after the last one sent,
 * so the next sync answers at once with the rest. Messages are deleted only when
 * the device syncs with a token past them: a response that never reached the
 * client is sent again when it repeats its old token.
 */
import type { Stores } from '../../../storage';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncRequester, SyncStream } from '../stream';
import type { Positions } from '../token';

export const MAX_TO_DEVICE_PER_SYNC = 100;

/** Devices whose last acknowledged position is remembered. */
const REMEMBERED_DEVICES = 100_000;

export class ToDeviceStream implements SyncStream {
  readonly name = 'to_device' as const;
  /** Per device: the position up to which its messages are deleted already. */
  private readonly acknowledged = new Map<string, number>();

  constructor(private readonly stores: Stores) {}

  current(): Promise<number> {
    return this.stores.deviceInbox.positions.latest();
  }

  async acknowledge(requester: SyncRequester, since: Positions): Promise<void> {
    // A token ahead of the stream (a restored database) acknowledges nothing it has not seen.
    const upTo = Math.min(since[this.name], await this.current());
    const device = `${requester.userId}|${requester.deviceId}`;
    // Every request repeats its token: delete only when it moved past what was acknowledged already.
    if (upTo <= (this.acknowledged.get(device) ?? 0)) return;
    await this.stores.deviceInbox.acknowledge(requester.userId, requester.deviceId, upTo);
    this.acknowledged.delete(device);
    this.acknowledged.set(device, upTo);
    if (this.acknowledged.size > REMEMBERED_DEVICES) this.acknowledged.delete(this.acknowledged.keys().next().value!);
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const { userId, deviceId } = ctx.requester;
    const after = ctx.since?.[this.name] ?? 0;
    if (after >= ctx.to[this.name]) return;
    const messages = await this.stores.deviceInbox.pending(userId, deviceId, after, ctx.to[this.name], MAX_TO_DEVICE_PER_SYNC + 1);
    const sent = messages.slice(0, MAX_TO_DEVICE_PER_SYNC);
    if (messages.length > sent.length) out.stopStreamAt(this.name, sent[sent.length - 1].streamId);
    out.toDevice.push(...sent.map((m) => ({ type: m.type, sender: m.sender, content: m.content })));
  }
}

/**
 * The device list stream: `device_lists` on incremental syncs (users whose
 * devices or keys changed, who newly share a room, or who no longer share
 * any), and on every sync the device's one-time key counts and unused
 * fallback key algorithms, which are never news on their own.
 */
import type { Stores } from '../../../storage';
import type { DeviceLists } from '../../e2ee/device-lists';
import type { E2eKeys } from '../../e2ee/keys';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';

export class DeviceListStream implements SyncStream {
  readonly name = 'device_lists' as const;

  constructor(
    private readonly stores: Stores,
    private readonly deviceLists: DeviceLists,
    private readonly keys: E2eKeys,
  ) {}

  current(): Promise<number> {
    return this.stores.deviceListChanges.positions.latest();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const { userId, deviceId } = ctx.requester;
    const [status, delta] = await Promise.all([
      this.keys.status(userId, deviceId),
      // The spec sends device list changes on incremental syncs only.
      ctx.since && (await this.anythingNew(ctx)) && this.deviceLists.delta(userId, ctx.since, ctx.to, ctx.rooms),
    ]);
    out.oneTimeKeyCounts = status.counts;
    out.unusedFallbackKeyTypes = status.unusedFallback;
    if (!delta) return;
    for (const user of delta.changed) out.deviceLists.changed.add(user);
    for (const user of delta.left) out.deviceLists.left.add(user);
  }

  /** Whether (since, to] may hold device list news: a change, or someone joining or leaving a room of the user's. */
  private async anythingNew(ctx: SyncContext): Promise<boolean> {
    const { since, to, rooms } = ctx;
    if (since![this.name] !== to[this.name] || rooms.newlyJoined.size > 0 || rooms.newlyLeft.size > 0) return true;
    return (await rooms.membershipChanges()).length > 0;
  }
}

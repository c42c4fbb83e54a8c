/**
 * Other servers' users' device lists (server-server-api.md, "Device
 * Management", "End-to-End Encryption"): the cache in storage/remote-devices.ts,
 * kept for users who share a room with one of ours, filled by a full fetch
 * (GET /user/devices/{userId}) and then kept current by the user's server's
 * m.device_list_update and m.signing_key_update EDUs.
 *
 * Each update names the updates it follows (prev_id). One we can place (every
 * prev_id applied, or covered by the last full fetch) is applied; otherwise an
 * update was lost: the list is marked stale and fetched again. Every change
 * is a device list change of that user here too, which wakes the local users
 * sharing a room with them (/sync's device_lists.changed, /keys/changes).
 */
import type { JsonObject } from '../../spec/e2e-keys';
import { deviceListUpdateEdu, signingKeyUpdateEdu, userDevicesAnswer } from '../../spec/schemas/edus';
import { parseUserId } from '../../spec/identifiers';
import type { Services } from '../../server/services';
import type { RemoteCrossSigningKeys, RemoteDeviceList } from '../../storage/remote-devices';
import type { FederationClient } from '../client';
import type { EduHandler } from '../inbound/transactions';
import { isUserOf } from './checks';
import type { BackgroundTasks } from './tasks';

export class RemoteDeviceLists {
  /** Full fetches in flight, by user: concurrent askers share one. */
  private readonly resyncs = new Map<string, Promise<void>>();

  constructor(
    private readonly services: Pick<Services, 'config' | 'stores' | 'e2ee'>,
    private readonly client: FederationClient,
    private readonly tasks: BackgroundTasks,
  ) {}

  /** Whether we keep the user's device list: they share a room with one of our users. */
  tracked(userId: string): Promise<boolean> {
    return this.services.stores.memberships.sharesARoomWithServer(userId, this.services.config.server_name);
  }

  readonly onDeviceListUpdate: EduHandler = async (origin, content) => {
    if (!deviceListUpdateEdu(content) || !isUserOf(origin, content.user_id)) return;
    const update = content;
    const { stores, e2ee } = this.services;
    if (update.keys !== undefined && !keysOf(update.user_id, update.device_id, update.keys)) return;
    await this.tasks.inOrder(update.user_id, async () => {
      if (!(await this.tracked(update.user_id))) return;
      const list = await stores.remoteDevices.list(update.user_id);
      if (!list) {
        // Nothing cached to update: our users' clients learn of the change and ask, which fetches the list.
        await stores.db.transaction((trx) => e2ee.deviceLists.changed(update.user_id, trx));
        return;
      }
      if (list.stale) return this.resyncInBackground(update.user_id);
      if (covered(list, update.stream_id)) return;
      const prev = update.prev_id ?? [];
      const follows = prev.length > 0 ? prev.every((id) => covered(list, id)) : list.snapshotStreamId === 0 && list.seen.length === 0;
      await stores.db.transaction(async (trx) => {
        if (follows) {
          await stores.remoteDevices.applyUpdate(list, {
            streamId: update.stream_id,
            deviceId: update.device_id,
            deleted: update.deleted === true,
            displayName: update.device_display_name ?? null,
            keys: update.keys ?? null,
          }, trx);
        } else {
          await stores.remoteDevices.markStale(update.user_id, trx);
        }
        await e2ee.deviceLists.changed(update.user_id, trx);
      });
      if (!follows) this.resyncInBackground(update.user_id);
    });
  };

  readonly onSigningKeyUpdate: EduHandler = async (origin, content) => {
    if (!signingKeyUpdateEdu(content) || !isUserOf(origin, content.user_id)) return;
    const userId = content.user_id;
    const keys = crossSigningKeysOf(userId, content.master_key, content.self_signing_key);
    const { stores, e2ee } = this.services;
    await this.tasks.inOrder(userId, async () => {
      if (!(await this.tracked(userId))) return;
      const cached = (await stores.remoteDevices.list(userId)) !== undefined;
      await stores.db.transaction(async (trx) => {
        if (cached) await stores.remoteDevices.putCrossSigning(userId, keys, trx);
        await e2ee.deviceLists.changed(userId, trx);
      });
    });
  };

  /**
   * Fetches the user's whole device list from their server and replaces the
   * cache with it (a change here unless it is the first fetch). Concurrent
   * callers share one fetch; rejects if the server could not be asked.
   */
  resync(userId: string, timeoutMs?: number): Promise<void> {
    let running = this.resyncs.get(userId);
    if (!running) {
      running = this.fetch(userId, timeoutMs).finally(() => this.resyncs.delete(userId));
      this.resyncs.set(userId, running);
    }
    return running;
  }

  /**
   * A membership ended: the users of other servers among `candidates` who no
   * longer share a room with ours lose their cached list. Their server stops
   * sending us updates, so the list would age unseen; it is fetched again if
   * they share a room with us later.
   */
  async forgetUntracked(candidates: readonly string[]): Promise<void> {
    const { stores } = this.services;
    const cached = [...(await stores.remoteDevices.lists(candidates)).keys()];
    for (const userId of cached) {
      await this.tasks.inOrder(userId, async () => {
        if (!(await this.tracked(userId))) await stores.remoteDevices.forget([userId]);
      });
    }
  }

  private resyncInBackground(userId: string): void {
    this.tasks.run(`could not fetch the device list of ${userId}`, () => this.resync(userId));
  }

  private async fetch(userId: string, timeoutMs: number | undefined): Promise<void> {
    const server = parseUserId(userId)!.serverName;
    const answer = await this.client.get(server, `/_matrix/federation/v1/user/devices/${encodeURIComponent(userId)}`, { timeoutMs });
    if (!userDevicesAnswer(answer) || answer.user_id !== userId) throw new Error(`${server} answered /user/devices/${userId} with something else`);
    const devices = answer.devices.map((d) => ({
      deviceId: d.device_id,
      displayName: d.device_display_name ?? null,
      keys: keysOf(userId, d.device_id, d.keys) ? d.keys : null,
    }));
    const crossSigning = crossSigningKeysOf(userId, answer.master_key, answer.self_signing_key);
    const { stores, e2ee } = this.services;
    await this.tasks.inOrder(userId, () =>
      stores.db.transaction(async (trx) => {
        const before = await stores.remoteDevices.list(userId, trx);
        await stores.remoteDevices.replace(userId, { streamId: answer.stream_id, devices, crossSigning }, trx);
        if (before) await e2ee.deviceLists.changed(userId, trx);
      }),
    );
  }
}

/** Whether the cache already holds the update `streamId`: the last full fetch covered it, or it was applied since. */
const covered = (list: RemoteDeviceList, streamId: number): boolean => streamId <= list.snapshotStreamId || list.seen.includes(streamId);

/** Whether `keys` are a device's identity keys as its owner uploaded them: for that user and device. */
function keysOf(userId: string, deviceId: string, keys: JsonObject): boolean {
  return keys.user_id === userId && keys.device_id === deviceId && typeof keys.keys === 'object' && keys.keys !== null;
}

/** The master and self-signing keys that are the user's and are meant for that use; others are dropped. */
function crossSigningKeysOf(userId: string, master: JsonObject | undefined, selfSigning: JsonObject | undefined): RemoteCrossSigningKeys {
  const usable = (key: JsonObject | undefined, usage: string) =>
    key !== undefined && key.user_id === userId && Array.isArray(key.usage) && key.usage.includes(usage) && typeof key.keys === 'object' && key.keys !== null;
  return {
    ...(usable(master, 'master') ? { master } : {}),
    ...(usable(selfSigning, 'self_signing') ? { self_signing: selfSigning } : {}),
  };
}

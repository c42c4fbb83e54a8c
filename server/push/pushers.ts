/** GET /pushers and POST /pushers/set (pusher.yaml). */
import { checkPusher, type PusherBody } from '../../spec/push/pusher';
import type { Stores } from '../../storage';
import type { Pusher } from '../../storage/pushers';
import type { Requester } from '../http/route';
import type { PushDelivery } from './delivery';

/** A pusher as GET /pushers lists it. */
function listed(p: Pusher): Record<string, unknown> {
  return {
    pushkey: p.pushkey,
    kind: p.kind,
    app_id: p.appId,
    app_display_name: p.appDisplayName,
    device_display_name: p.deviceDisplayName,
    ...(p.profileTag === undefined ? {} : { profile_tag: p.profileTag }),
    lang: p.lang,
    data: p.data,
  };
}

export class Pushers {
  constructor(
    private readonly stores: Stores,
    private readonly delivery: PushDelivery,
    private readonly now: () => number = Date.now,
  ) {}

  async list(userId: string): Promise<{ pushers: Record<string, unknown>[] }> {
    return { pushers: (await this.stores.pushers.of(userId)).map(listed) };
  }

  /**
   * Creates, replaces or (kind null) deletes the requester's pusher with this
   * app_id and pushkey. Unless `append`, other users' pushers with the same
   * app_id and pushkey are deleted.
   */
  async set(requester: Requester, body: PusherBody): Promise<void> {
    const { userId } = requester;
    const setting = checkPusher(body);
    this.delivery.forget(userId, body.app_id, body.pushkey);
    if (!setting) {
      await this.stores.pushers.delete(userId, body.app_id, body.pushkey);
      return;
    }
    const removed = await this.stores.db.transaction(async (trx) => {
      await this.stores.pushers.set(trx, userId, body, requester.deviceId, this.now());
      return body.append ? [] : this.stores.pushers.deleteOthers(trx, body.app_id, body.pushkey, userId);
    });
    for (const other of removed) this.delivery.forget(other.userId, other.appId, other.pushkey);
  }
}

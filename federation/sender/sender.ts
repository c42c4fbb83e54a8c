/**
 * The outbound federation sender as other modules use it: EDUs to queue
 * (typing, receipts, presence, to-device messages, device list updates), the
 * servers of a room to address them to, and `wake` for inbound federation to
 * call when a server contacts us. PDUs need nothing: the fan-out queues every
 * local event from the room stream by itself.
 */
import { isValidServerName } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import type { Delivery } from './delivery';
import type { PduFanOut } from './fan-out';
import type { Edu } from './transport';

export class FederationSender {
  constructor(
    private readonly stores: Stores,
    private readonly serverName: string,
    private readonly fanOut: PduFanOut,
    private readonly delivery: Delivery,
  ) {}

  /**
   * Queues `edu` for each destination (this server, invalid names and
   * duplicates are left out); resolves once it is stored, before it is sent.
   * With `coalesceKey`, it replaces an unsent EDU with the same key for the same
   * destination: e.g. `m.typing ${roomId} ${userId}`, or `m.presence ${userId}`.
   * EDUs that must all arrive (m.direct_to_device, m.device_list_update) take none.
   */
  async sendEdu(destinations: Iterable<string>, edu: Edu, coalesceKey?: string): Promise<void> {
    const targets = [...new Set(destinations)].filter((d) => d !== this.serverName && isValidServerName(d));
    if (targets.length === 0) return;
    await this.stores.federationOutbox.queueEdu(targets, edu, coalesceKey);
    for (const destination of targets) this.delivery.kick(destination);
  }

  /**
   * Queues a PDU the fan-out does not send, one of another server's user that
   * a handshake through us accepted, for each destination (this server,
   * invalid names and duplicates left out); resolves once it is stored.
   */
  async sendPdu(destinations: Iterable<string>, eventId: string): Promise<void> {
    const targets = [...new Set(destinations)].filter((d) => d !== this.serverName && isValidServerName(d));
    if (targets.length === 0) return;
    await this.stores.federationOutbox.queuePdu(targets, eventId);
    for (const destination of targets) this.delivery.kick(destination);
  }

  /** The other servers with a user joined to the room (none for an unknown room): where its EDUs go. */
  async serversInRoom(roomId: string): Promise<string[]> {
    if (!(await this.stores.rooms.get(roomId))) return [];
    return [...(await this.stores.memberships.joinedServers(roomId)).keys()].filter((s) => s !== this.serverName && isValidServerName(s));
  }

  /** `destination` contacted us, so it is up: end its backoff and send what waits for it now. */
  wake(destination: string): void {
    this.delivery.wake(destination);
  }

  /** When `destination` may next be tried after failures (undefined: it is not backing off). */
  retryAt(destination: string): number | undefined {
    return this.delivery.retryAt(destination);
  }

  /** Resolves once every event committed so far is queued for its destinations (tests and benches). */
  caughtUp(): Promise<void> {
    return this.fanOut.caughtUp();
  }
}

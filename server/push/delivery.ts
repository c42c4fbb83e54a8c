/**
 * Delivery to push gateways (push-gateway-api.md): after an event commits, each
 * notified user's http pushers are sent the Push Gateway API notification; after
 * a read receipt lowers a user's counts, the new counts alone. Never on the
 * sending request's path.
 *
 * Each pusher has an outbox in memory, sent in order. A failure (no answer
 * within the timeout, a 5xx, 408 or 429) is retried with exponential backoff,
 * up to `max_attempts`, before the notification is dropped; another 4xx drops
 * it at once. Pushkeys the gateway lists in `rejected` lose their pusher.
 * Outboxes do not survive a restart (docs/push.md).
 */
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import {
  countsNotification,
  EVENT_ID_ONLY,
  eventNotification,
  type Counts,
  type GatewayNotification,
  type GatewayPusher,
  type NotifiedEvent,
} from '../../spec/push/gateway';
import { stateTuple } from '../../spec/pdu';
import type { Stores } from '../../storage';
import type { Pusher } from '../../storage/pushers';
import type { Config } from '../config/schema';
import { guardedConnector } from '../net/connector';
import type { IpRangePolicy } from '../net/ip-ranges';
import type { PersistedEvent } from '../rooms/event-bus';
import type { Notified } from './evaluator';

/** Notifications waiting per pusher at most; the oldest go first. */
const MAX_OUTBOX = 100;

interface Outbox {
  key: string;
  pusher: Pusher;
  queue: GatewayNotification[];
  /** Failed attempts at the head of the queue. */
  attempts: number;
  sending: boolean;
  retry?: NodeJS.Timeout;
}

type PostResult = { kind: 'sent'; rejected: string[] } | { kind: 'refused'; status: number } | { kind: 'failed'; reason: string };

const outboxKey = (userId: string, appId: string, pushkey: string) => `${userId}\u0000${appId}\u0000${pushkey}`;

const gatewayPusher = (p: Pusher): GatewayPusher => ({ app_id: p.appId, pushkey: p.pushkey, pushkeyTs: p.pushkeyTs, data: p.data });

export class PushDelivery {
  private readonly dispatcher: Agent;
  private readonly outboxes = new Map<string, Outbox>();
  private readonly tasks = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly stores: Stores,
    private readonly config: Config['push'],
    private readonly log: Logger,
    policy: IpRangePolicy,
  ) {
    const timeout = config.gateway_timeout_ms;
    this.dispatcher = new Agent({ connect: guardedConnector({ policy, timeout }), headersTimeout: timeout, bodyTimeout: timeout });
  }

  /** After the event's commit: notifies the http pushers of the users it notified. */
  eventNotified(persisted: PersistedEvent, notified: readonly Notified[]): void {
    if (notified.length > 0 && !this.stopped) this.run(this.sendEvent(persisted, notified));
  }

  /** After a read receipt lowered the user's counts: sends the counts alone. */
  countsChanged(userId: string): void {
    if (!this.stopped) this.run(this.sendCounts(userId));
  }

  /** A pusher was deleted or replaced: what waited for it is dropped. */
  forget(userId: string, appId: string, pushkey: string): void {
    const box = this.outboxes.get(outboxKey(userId, appId, pushkey));
    if (!box) return;
    clearTimeout(box.retry);
    box.queue.length = 0;
    this.outboxes.delete(box.key);
  }

  /** Stops sending: pending retries are cancelled, requests in flight aborted. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const box of this.outboxes.values()) clearTimeout(box.retry);
    this.outboxes.clear();
    await this.dispatcher.destroy();
    await Promise.allSettled([...this.tasks]);
  }

  private run(task: Promise<void>): void {
    const tracked = task
      .catch((err) => this.log.warn({ err }, 'push delivery failed'))
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private async sendEvent(persisted: PersistedEvent, notified: readonly Notified[]): Promise<void> {
    const pushers = await this.stores.pushers.httpPushersOf(notified.map((n) => n.userId));
    if (pushers.length === 0 || this.stopped) return;
    const event = await this.describe(persisted, pushers.some((p) => p.data.format !== EVENT_ID_ONLY));
    const counts = await this.counts(pushers);
    const tweaks = new Map(notified.map((n) => [n.userId, n.evaluation.tweaks]));
    for (const pusher of pushers) {
      this.enqueue(pusher, eventNotification(pusher.userId, event, tweaks.get(pusher.userId)!, counts.get(pusher.userId)!, gatewayPusher(pusher)));
    }
  }

  private async sendCounts(userId: string): Promise<void> {
    const pushers = await this.stores.pushers.httpPushersOf([userId]);
    if (pushers.length === 0 || this.stopped) return;
    const counts = await this.counts(pushers);
    for (const pusher of pushers) this.enqueue(pusher, countsNotification(counts.get(userId)!, gatewayPusher(pusher)));
  }

  /** The counts of the pushers' users, in one query. */
  private async counts(pushers: readonly Pusher[]): Promise<Map<string, Counts>> {
    const badges = await this.stores.pushActions.badges([...new Set(pushers.map((p) => p.userId))]);
    return new Map([...badges].map(([userId, { unread, missedCalls }]) => [userId, { unread, missed_calls: missedCalls }]));
  }

  /** The event as gateways see it; with the room's name and alias and the sender's display name when `full`. */
  private async describe({ event, roomId }: PersistedEvent, full: boolean): Promise<NotifiedEvent> {
    const { pdu } = event;
    const described: NotifiedEvent = { event_id: event.id, room_id: roomId, type: pdu.type, sender: pdu.sender, content: pdu.content };
    if (pdu.state_key !== undefined) described.state_key = pdu.state_key;
    if (!full) return described;
    const [name, alias, member] = [stateTuple('m.room.name', ''), stateTuple('m.room.canonical_alias', ''), stateTuple('m.room.member', pdu.sender)];
    const state = await this.stores.roomState.currentStateEvents(roomId, [name, alias, member]);
    const text = (tuple: string, key: string) => {
      const value = state.get(tuple)?.pdu.content[key];
      return typeof value === 'string' && value.length > 0 ? value : undefined;
    };
    const roomName = text(name, 'name');
    const roomAlias = text(alias, 'alias');
    const displayName = text(member, 'displayname');
    if (roomName !== undefined) described.room_name = roomName;
    if (roomAlias !== undefined) described.room_alias = roomAlias;
    if (displayName !== undefined) described.sender_display_name = displayName;
    return described;
  }

  private enqueue(pusher: Pusher, notification: GatewayNotification): void {
    if (this.stopped) return;
    const key = outboxKey(pusher.userId, pusher.appId, pusher.pushkey);
    let box = this.outboxes.get(key);
    if (!box) this.outboxes.set(key, (box = { key, pusher, queue: [], attempts: 0, sending: false }));
    box.pusher = pusher;
    box.queue.push(notification);
    if (box.queue.length > MAX_OUTBOX) box.queue.shift();
    this.pump(box);
  }

  private pump(box: Outbox): void {
    if (box.sending || box.retry !== undefined || this.stopped) return;
    box.sending = true;
    this.run(this.drain(box));
  }

  /** Sends the outbox's notifications in order until it is empty or must wait to retry. */
  private async drain(box: Outbox): Promise<void> {
    try {
      while (box.queue.length > 0 && !this.stopped) {
        const result = await this.post(box.pusher, box.queue[0]);
        if (this.stopped || this.outboxes.get(box.key) !== box) return;
        if (result.kind === 'failed' && box.attempts + 1 < this.config.max_attempts) {
          box.attempts++;
          const delay = Math.min(this.config.retry_initial_ms * 2 ** (box.attempts - 1), this.config.retry_max_ms);
          this.log.info({ user: box.pusher.userId, app_id: box.pusher.appId, reason: result.reason, attempt: box.attempts, retry_ms: delay }, 'push gateway failed; retrying');
          box.retry = setTimeout(() => {
            box.retry = undefined;
            this.pump(box);
          }, delay);
          box.retry.unref();
          return;
        }
        if (result.kind !== 'sent') this.log.warn({ user: box.pusher.userId, app_id: box.pusher.appId, result }, 'push gateway notification dropped');
        box.queue.shift();
        box.attempts = 0;
        if (result.kind === 'sent' && result.rejected.includes(box.pusher.pushkey)) {
          await this.reject(box);
          return;
        }
      }
    } finally {
      box.sending = false;
      if (box.queue.length === 0 && box.retry === undefined && this.outboxes.get(box.key) === box) this.outboxes.delete(box.key);
    }
  }

  /** The gateway rejected the pushkey: the pusher goes, with what waited for it. */
  private async reject(box: Outbox): Promise<void> {
    const { userId, appId, pushkey } = box.pusher;
    this.log.info({ user: userId, app_id: appId }, 'push gateway rejected the pushkey; deleting the pusher');
    this.forget(userId, appId, pushkey);
    await this.stores.pushers.delete(userId, appId, pushkey);
  }

  private async post(pusher: Pusher, notification: GatewayNotification): Promise<PostResult> {
    try {
      const res = await request(pusher.data.url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notification),
        dispatcher: this.dispatcher,
      });
      const text = await res.body.text();
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { kind: 'sent', rejected: rejectedOf(text) };
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'refused', status };
      return { kind: 'failed', reason: `HTTP ${status}` };
    } catch (err) {
      return { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
    }
  }
}

/** The `rejected` pushkeys of a gateway's answer (none if it is not the JSON the spec describes). */
function rejectedOf(text: string): string[] {
  try {
    const rejected = JSON.parse(text)?.rejected;
    return Array.isArray(rejected) ? rejected.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The push module (docs/push.md): push rules, their evaluation as events are
 * persisted, notifications and their counts, pushers and delivery to push
 * gateways. Built once per homeserver; `stop` ends delivery.
 */
import type { Logger } from 'pino';
import { whenSettled } from '../../storage/transactions';
import type { Stores } from '../../storage';
import type { Config } from '../config/schema';
import { IpRangePolicy } from '../net/ip-ranges';
import type { EventBus } from '../rooms/event-bus';
import type { ClientEvents } from '../rooms/client-events';
import type { AccountData } from '../services/account-data';
import type { Notifier } from '../sync/notifier';
import { PushDelivery } from './delivery';
import { PushEvaluator, type Notified } from './evaluator';
import { Notifications } from './notifications';
import { PushRules } from './push-rules';
import { Pushers } from './pushers';
import { RoomFactsCache } from './room-facts';

export interface PushDeps {
  config: Config;
  log: Logger;
  stores: Stores;
  events: EventBus;
  notifier: Notifier;
  accountData: AccountData;
  clientEvents: ClientEvents;
}

export class Push {
  readonly rules: PushRules;
  readonly pushers: Pushers;
  /** /notifications, and the unread counts of /sync. */
  readonly notifications: Notifications;
  readonly delivery: PushDelivery;
  /** Who each persisted event notified, until the event is published after its commit. */
  private readonly notified = new Map<string, Notified[]>();

  constructor({ config, log, stores, events, notifier, accountData, clientEvents }: PushDeps) {
    this.rules = new PushRules(stores, notifier);
    this.delivery = new PushDelivery(stores, config.push, log, IpRangePolicy.fromConfig(config));
    this.pushers = new Pushers(stores, this.delivery);
    this.notifications = new Notifications(stores, clientEvents);
    const evaluator = new PushEvaluator(stores, this.rules, new RoomFactsCache(stores, config.server_name), config.server_name);

    events.onPersist(async (trx, persisted) => {
      await evaluator.settleMembership(trx, persisted);
      const notified = await evaluator.evaluate(trx, persisted);
      if (notified.length === 0) return;
      this.notified.set(persisted.event.id, notified);
      whenSettled(trx, () => {}, () => this.notified.delete(persisted.event.id));
    });
    events.subscribe((persisted) => {
      const notified = this.notified.get(persisted.event.id);
      if (!notified) return;
      this.notified.delete(persisted.event.id);
      this.delivery.eventNotified(persisted, notified);
    });
    accountData.provide('m.push_rules', async (userId, roomId) => (roomId === null ? { global: await this.rules.ruleset(userId) } : undefined));
  }

  stop(): Promise<void> {
    return this.delivery.stop();
  }
}

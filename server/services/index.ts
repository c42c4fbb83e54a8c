/** The services a route handler may call, built once per homeserver. */
import type { Logger } from 'pino';
import { signingKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import type { Stores } from '../../storage';
import type { Config } from '../config/schema';
import { Push } from '../push/push';
import { Receipts } from '../receipts/receipts';
import { EventBus } from '../rooms/event-bus';
import { EventSender } from '../rooms/event-sender';
import { HistoryAccess } from '../rooms/history-access';
import { Relations } from '../rooms/relations';
import { Rooms } from '../rooms/rooms';
import { Timeline } from '../rooms/timeline';
import { Notifier } from '../sync/notifier';
import { AccountDataStream } from '../sync/streams/account-data';
import { PushRulesStream } from '../sync/streams/push-rules';
import { ReceiptStream } from '../sync/streams/receipts';
import { RoomStream, wakeKeysOf } from '../sync/streams/rooms';
import { Sync } from '../sync/sync';
import { AccountData } from './account-data';
import { Accounts } from './accounts';
import { Filters } from './filters';
import { Profiles } from './profiles';
import { Sessions } from './sessions';
import { Uia } from './uia';

export interface Services {
  config: Config;
  log: Logger;
  stores: Stores;
  sessions: Sessions;
  accounts: Accounts;
  profiles: Profiles;
  filters: Filters;
  uia: Uia;
  /** Every event persisted, after its commit: sync, federation and push subscribe here. */
  events: EventBus;
  rooms: Rooms;
  /** /messages, /context, timestamp_to_event. */
  timeline: Timeline;
  /** /relations, /threads. */
  relations: Relations;
  /** Wakes waiting syncs when something concerning them changes. */
  notifier: Notifier;
  sync: Sync;
  accountData: AccountData;
  /** Push rules, notifications and counts, pushers and push gateways. */
  push: Push;
  /** Receipts and read markers. */
  receipts: Receipts;
}

export function createServices(config: Config, stores: Stores, log: Logger): Services {
  const sessions = new Sessions(stores.db, stores.tokens, stores.devices, config);
  const accounts = new Accounts(stores, sessions, config);
  const profiles = new Profiles(stores.db, stores.users, stores.profiles, config.server_name);
  const filters = new Filters(stores.filters);
  const uia = new Uia(stores.db, stores.uiaSessions, stores.registrationTokens, accounts, config);
  const events = new EventBus();
  const sender = new EventSender(stores, events, config.server_name, signingKeyPair(parseSigningKey(config.signing_key)));
  const rooms = new Rooms(stores, sender, config);
  const historyAccess = new HistoryAccess(stores, rooms.visibility);
  const timeline = new Timeline(stores, historyAccess, rooms.clientEvents);
  const relations = new Relations(stores, historyAccess, rooms.clientEvents);
  const notifier = new Notifier();
  events.subscribe((persisted) => notifier.notify(wakeKeysOf(persisted)));
  const sync = new Sync(stores, notifier, new RoomStream(stores));
  sync.register(new AccountDataStream(stores));
  const accountData = new AccountData(stores, notifier);
  const push = new Push({ config, log, stores, events, notifier, accountData, clientEvents: rooms.clientEvents });
  sync.register(new PushRulesStream(stores, push.rules));
  sync.setUnreadCounter(push.notifications);
  const receipts = new Receipts(stores, notifier, accountData, (userId) => push.delivery.countsChanged(userId));
  sync.register(new ReceiptStream(stores));
  return { config, log, stores, sessions, accounts, profiles, filters, uia, events, rooms, timeline, relations, notifier, sync, accountData, push, receipts };
}

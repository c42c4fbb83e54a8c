/** The services a route handler may call, built once per homeserver. */
import type { Logger } from 'pino';
import { signingKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import type { Stores } from '../../storage';
import { whenSettled } from '../../storage/transactions';
import type { Config } from '../config/schema';
import { createE2ee, type E2ee } from '../e2ee';
import { Presence } from '../presence/presence';
import { Push } from '../push/push';
import { Receipts } from '../receipts/receipts';
import { Backfill } from '../rooms/backfill';
import { EventBus } from '../rooms/event-bus';
import { EventSender } from '../rooms/event-sender';
import { HistoryAccess } from '../rooms/history-access';
import { OutOfBandMemberships } from '../rooms/out-of-band';
import { Relations } from '../rooms/relations';
import { RemoteEvents } from '../rooms/remote-events';
import { Rooms } from '../rooms/rooms';
import { SpaceHierarchy } from '../spaces/hierarchy';
import { Timeline } from '../rooms/timeline';
import { Notifier } from '../sync/notifier';
import { AccountDataStream } from '../sync/streams/account-data';
import { DeviceListStream } from '../sync/streams/device-lists';
import { PresenceStream } from '../sync/streams/presence';
import { PushRulesStream } from '../sync/streams/push-rules';
import { ReceiptStream } from '../sync/streams/receipts';
import { RoomStream, wakeKeysOf } from '../sync/streams/rooms';
import { ToDeviceStream } from '../sync/streams/to-device';
import { TypingStream } from '../sync/streams/typing';
import { Sync } from '../sync/sync';
import { Tags } from '../tags/tags';
import { ToDevice } from '../to-device/to-device';
import { Typing } from '../typing/typing';
import { AccountData } from './account-data';
import { Accounts } from './accounts';
import { Filters } from './filters';
import { OpenId } from './openid';
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
  /** Events from other servers: federation connects its verifier and event source with setFederationHooks. */
  remoteEvents: RemoteEvents;
  /** History from other servers behind gaps /messages meets: federation connects its requests with setBackfiller. */
  backfill: Backfill;
  /** /messages, /context, timestamp_to_event. */
  timeline: Timeline;
  /** /relations, /threads. */
  relations: Relations;
  /** The space hierarchy: federation asks other servers about rooms we are not in through setRemote, and answers them from `local`. */
  spaces: SpaceHierarchy;
  /** Wakes waiting syncs when something concerning them changes. */
  notifier: Notifier;
  sync: Sync;
  accountData: AccountData;
  /** End-to-end encryption: keys, cross-signing, key backups, device lists. */
  e2ee: E2ee;
  typing: Typing;
  presence: Presence;
  toDevice: ToDevice;
  tags: Tags;
  /** Stops timers and background work; the homeserver calls it before closing the database. */
  close(): Promise<void>;
  /** Push rules, notifications and counts, pushers and push gateways. */
  push: Push;
  /** Receipts and read markers. */
  receipts: Receipts;
  /** OpenID tokens for third parties. */
  openid: OpenId;
}

export function createServices(config: Config, stores: Stores, log: Logger): Services {
  const sessions = new Sessions(stores.db, stores.tokens, stores.devices, config);
  const accounts = new Accounts(stores, sessions, config);
  const profiles = new Profiles(stores.db, stores.users, stores.profiles, config.server_name);
  const filters = new Filters(stores.filters);
  const uia = new Uia(stores.db, stores.uiaSessions, stores.registrationTokens, accounts, config);
  const events = new EventBus();
  const sender = new EventSender(stores, events, config.server_name, signingKeyPair(parseSigningKey(config.signing_key)));
  const remoteEvents = new RemoteEvents(stores, events);
  const rooms = new Rooms(stores, sender, config, remoteEvents, new OutOfBandMemberships(stores, events));
  const historyAccess = new HistoryAccess(stores, rooms.visibility);
  const backfill = new Backfill(stores, remoteEvents, config.server_name, log);
  const timeline = new Timeline(stores, historyAccess, rooms.clientEvents, backfill);
  const relations = new Relations(stores, historyAccess, rooms.clientEvents);
  const spaces = new SpaceHierarchy(stores, rooms);
  const notifier = new Notifier();
  events.subscribe((persisted) => notifier.notify(wakeKeysOf(persisted)));
  const sync = new Sync(stores, notifier, new RoomStream(stores, rooms.visibility, rooms.clientEvents));
  sync.register(new AccountDataStream(stores));
  const accountData = new AccountData(stores, notifier);
  const e2ee = createE2ee(stores, notifier, uia, config.server_name);
  sync.register(new DeviceListStream(stores, e2ee.deviceLists, e2ee.keys));
  accounts.onDevicesChanged(async (userId, deviceIds, trx) => {
    await e2ee.deviceLists.changed(userId, trx, { devices: deviceIds });
    whenSettled(trx, () => e2ee.keys.forgetStatus(userId));
  });
  const typing = new Typing(stores, notifier);
  events.subscribe((persisted) => typing.onEvent(persisted));
  sync.register(new TypingStream(typing));
  const presence = new Presence(stores, notifier, config, log);
  if (presence.enabled) {
    sync.register(new PresenceStream(stores, presence));
    sync.onActivity((requester, setPresence) => presence.syncing(requester.userId, setPresence));
    events.subscribe((persisted) => presence.eventSent(persisted.event.pdu.sender));
  }
  const toDevice = new ToDevice(stores, notifier, config.server_name);
  sync.register(new ToDeviceStream(stores));
  const tags = new Tags(accountData);
  const push = new Push({ config, log, stores, events, notifier, accountData, clientEvents: rooms.clientEvents });
  sync.register(new PushRulesStream(stores, push.rules));
  sync.setUnreadCounter(push.notifications);
  const receipts = new Receipts(stores, notifier, accountData, (userId) => push.delivery.countsChanged(userId));
  sync.register(new ReceiptStream(stores));
  const openid = new OpenId(stores.openIdTokens, config.server_name);
  const close = async () => {
    typing.close();
    await presence.close();
    await push.stop();
  };
  return {
    config, log, stores, sessions, accounts, profiles, filters, uia, events, rooms, remoteEvents, backfill, timeline, relations, spaces, notifier, sync, accountData,
    e2ee, typing, presence, toDevice, tags, push, receipts, openid, close,
  };
}

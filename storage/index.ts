/** Every store, over one database handle. */
import { AccountDataStore } from './account-data';
import { CrossSigningStore } from './cross-signing';
import type { Db } from './db';
import { DeviceKeyStore } from './device-keys';
import { DeviceListChangeStore } from './device-list-changes';
import { DeviceInboxStore } from './device-inbox';
import { DeviceStore } from './devices';
import { EventTxnStore } from './event-txns';
import { EventStore } from './events';
import { FederationOutboxStore } from './federation-outbox';
import { FilterStore } from './filters';
import { ForgottenRoomStore } from './forgotten-rooms';
import { KeyBackupStore } from './key-backup';
import { IgnoredUserStore } from './ignored-users';
import { MembershipStore } from './memberships';
import { OneTimeKeyStore } from './one-time-keys';
import { OpenIdTokenStore } from './openid-tokens';
import { PresenceStore } from './presence';
import { ProfileStore } from './profiles';
import { PushActionStore } from './push-actions';
import { PushRuleStore } from './push-rules';
import { PusherStore } from './pushers';
import { ReceiptStore } from './receipts';
import { RegistrationTokenStore } from './registration-tokens';
import { RelationStore } from './relations';
import { RemoteDeviceStore } from './remote-devices';
import { ReportStore } from './reports';
import { RoomAliasStore } from './room-aliases';
import { RoomDirectoryStore } from './room-directory';
import { RoomSummaryStore } from './room-summaries';
import { RoomStateStore } from './room-state';
import { RoomStore } from './rooms';
import { ServerKeyStore } from './server-keys';
import { SharedSecretNonceStore } from './shared-secret-nonces';
import { StateGroupStore } from './state-groups';
import { StrippedStateStore } from './stripped-state';
import { TimelineStore } from './timeline';
import { TokenStore } from './tokens';
import { UiaSessionStore } from './uia-sessions';
import { UserStore } from './users';

export interface Stores {
  db: Db;
  users: UserStore;
  devices: DeviceStore;
  tokens: TokenStore;
  profiles: ProfileStore;
  accountData: AccountDataStore;
  filters: FilterStore;
  uiaSessions: UiaSessionStore;
  registrationTokens: RegistrationTokenStore;
  sharedSecretNonces: SharedSecretNonceStore;
  rooms: RoomStore;
  stateGroups: StateGroupStore;
  events: EventStore;
  roomState: RoomStateStore;
  memberships: MembershipStore;
  eventTxns: EventTxnStore;
  timeline: TimelineStore;
  relations: RelationStore;
  roomAliases: RoomAliasStore;
  roomDirectory: RoomDirectoryStore;
  /** What room summaries (directory, space hierarchy) are made from, for many rooms at once. */
  roomSummaries: RoomSummaryStore;
  reports: ReportStore;
  forgottenRooms: ForgottenRoomStore;
  deviceKeys: DeviceKeyStore;
  oneTimeKeys: OneTimeKeyStore;
  crossSigning: CrossSigningStore;
  deviceListChanges: DeviceListChangeStore;
  keyBackups: KeyBackupStore;
  presence: PresenceStore;
  deviceInbox: DeviceInboxStore;
  pushRules: PushRuleStore;
  pushActions: PushActionStore;
  pushers: PusherStore;
  receipts: ReceiptStore;
  ignoredUsers: IgnoredUserStore;
  /** Other servers' signing keys and the signed responses they came in. */
  serverKeys: ServerKeyStore;
  openIdTokens: OpenIdTokenStore;
  federationOutbox: FederationOutboxStore;
  /** Other servers' users' device lists and keys as cached here; the last device list update sent per local user. */
  remoteDevices: RemoteDeviceStore;
  /** Stripped state that came with memberships of rooms this server is not in. */
  strippedState: StrippedStateStore;
}

export function createStores(db: Db): Stores {
  const rooms = new RoomStore(db);
  const tokens = new TokenStore(db);
  const tokensChanged = (trx: Db) => tokens.forgetResolved(trx);
  const stateGroups = new StateGroupStore(db, rooms);
  return {
    db,
    users: new UserStore(db, tokensChanged),
    devices: new DeviceStore(db, tokensChanged),
    tokens,
    profiles: new ProfileStore(db),
    accountData: new AccountDataStore(db),
    filters: new FilterStore(db),
    uiaSessions: new UiaSessionStore(db),
    registrationTokens: new RegistrationTokenStore(db),
    sharedSecretNonces: new SharedSecretNonceStore(db),
    rooms,
    stateGroups,
    events: new EventStore(db, rooms, stateGroups),
    roomState: new RoomStateStore(db, rooms, stateGroups),
    memberships: new MembershipStore(db, rooms),
    eventTxns: new EventTxnStore(db),
    timeline: new TimelineStore(db, rooms),
    relations: new RelationStore(db, rooms),
    roomAliases: new RoomAliasStore(db),
    roomDirectory: new RoomDirectoryStore(db),
    roomSummaries: new RoomSummaryStore(db),
    reports: new ReportStore(db),
    forgottenRooms: new ForgottenRoomStore(db),
    deviceKeys: new DeviceKeyStore(db),
    oneTimeKeys: new OneTimeKeyStore(db),
    crossSigning: new CrossSigningStore(db),
    deviceListChanges: new DeviceListChangeStore(db),
    keyBackups: new KeyBackupStore(db),
    presence: new PresenceStore(db),
    deviceInbox: new DeviceInboxStore(db),
    pushRules: new PushRuleStore(db),
    pushActions: new PushActionStore(db, rooms),
    pushers: new PusherStore(db),
    receipts: new ReceiptStore(db, rooms),
    ignoredUsers: new IgnoredUserStore(db),
    serverKeys: new ServerKeyStore(db),
    openIdTokens: new OpenIdTokenStore(db),
    federationOutbox: new FederationOutboxStore(db, rooms),
    remoteDevices: new RemoteDeviceStore(db),
    strippedState: new StrippedStateStore(db),
  };
}

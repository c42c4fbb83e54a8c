/** Every store, over one database handle. */
import { AccountDataStore } from './account-data';
import type { Db } from './db';
import { DeviceStore } from './devices';
import { FilterStore } from './filters';
import { ProfileStore } from './profiles';
import { RegistrationTokenStore } from './registration-tokens';
import { SharedSecretNonceStore } from './shared-secret-nonces';
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
}

export function createStores(db: Db): Stores {
  return {
    db,
    users: new UserStore(db),
    devices: new DeviceStore(db),
    tokens: new TokenStore(db),
    profiles: new ProfileStore(db),
    accountData: new AccountDataStore(db),
    filters: new FilterStore(db),
    uiaSessions: new UiaSessionStore(db),
    registrationTokens: new RegistrationTokenStore(db),
    sharedSecretNonces: new SharedSecretNonceStore(db),
  };
}

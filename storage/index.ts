/** Every store, over one database handle. */
import type { Db } from './db';
import { DeviceStore } from './devices';
import { ProfileStore } from './profiles';
import { TokenStore } from './tokens';
import { UserStore } from './users';

export interface Stores {
  db: Db;
  users: UserStore;
  devices: DeviceStore;
  tokens: TokenStore;
  profiles: ProfileStore;
}

export function createStores(db: Db): Stores {
  return {
    db,
    users: new UserStore(db),
    devices: new DeviceStore(db),
    tokens: new TokenStore(db),
    profiles: new ProfileStore(db),
  };
}

/** The services a route handler may call, built once per homeserver. */
import type { Logger } from 'pino';
import type { Stores } from '../../storage';
import type { Config } from '../config/schema';
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
}

export function createServices(config: Config, stores: Stores, log: Logger): Services {
  const sessions = new Sessions(stores.db, stores.tokens, stores.devices, config);
  const accounts = new Accounts(stores, sessions, config);
  const profiles = new Profiles(stores.db, stores.users, stores.profiles, config.server_name);
  const filters = new Filters(stores.filters);
  const uia = new Uia(stores.db, stores.uiaSessions, stores.registrationTokens, accounts, config);
  return { config, log, stores, sessions, accounts, profiles, filters, uia };
}

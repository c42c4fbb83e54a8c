/** The services a route handler may call, built once per homeserver. */
import type { Logger } from 'pino';
import type { Stores } from '../../storage';
import type { Config } from '../config/schema';
import { Accounts } from './accounts';
import { Sessions } from './sessions';

export interface Services {
  config: Config;
  log: Logger;
  stores: Stores;
  sessions: Sessions;
  accounts: Accounts;
}

export function createServices(config: Config, stores: Stores, log: Logger): Services {
  const sessions = new Sessions(stores.db, stores.tokens, stores.devices, config);
  const accounts = new Accounts(stores.db, stores.users, stores.devices, sessions, config);
  return { config, log, stores, sessions, accounts };
}

/**
 * Server keys and request authentication, assembled (docs/federation.md,
 * "Server keys and request authentication"): our key document, other
 * servers' keys, the /_matrix/key/v2 routes and the X-Matrix check.
 */
import type { Logger } from 'pino';
import type { Config } from '../../server/config/schema';
import type { Route } from '../../server/http/route';
import type { ServerKeyStore } from '../../storage/server-keys';
import { createRequestAuthenticator, type ServerAuthenticator } from '../request-auth';
import { KeyRing, type KeyFetch } from './key-ring';
import { keyRoutes } from './routes';
import { OwnServerKeys } from './server-keys';

export { EventSignatureError } from './event-signatures';
export { KeyRing, type KeyFetch } from './key-ring';
export { REQUEST_SIGNATURE, type KeyUse } from './key-validity';
export { OwnServerKeys } from './server-keys';

export interface ServerKeysDeps {
  config: Config;
  stores: { serverKeys: ServerKeyStore };
  /** The outbound key requests: the federation HTTP client. */
  fetch: KeyFetch;
  now?: () => number;
  log?: Logger;
}

export interface ServerKeys {
  ownKeys: OwnServerKeys;
  keyRing: KeyRing;
  /** GET /_matrix/key/v2/server, and the notary's /_matrix/key/v2/query (auth 'none'). */
  routes: Route<any>[];
  /** Checks a request's X-Matrix signature: resolves with the origin, or rejects with 401 M_UNAUTHORIZED. */
  authenticateServer: ServerAuthenticator;
}

export function createServerKeys(deps: ServerKeysDeps): ServerKeys {
  const now = deps.now ?? Date.now;
  const ownKeys = new OwnServerKeys(deps.config, now);
  const keyRing = new KeyRing({
    own: ownKeys,
    store: deps.stores.serverKeys,
    fetch: deps.fetch,
    trustedKeyServers: deps.config.federation.trusted_key_servers,
    now,
    log: deps.log,
  });
  return {
    ownKeys,
    keyRing,
    routes: keyRoutes({ own: ownKeys, keyRing, now }),
    authenticateServer: createRequestAuthenticator({ serverName: deps.config.server_name, keyRing, now }),
  };
}

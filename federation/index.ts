/**
 * The Server-Server API (docs/federation.md). The composition root
 * (server/homeserver.ts) builds it once the services exist: it serves the
 * federation and key routes, authenticates other servers' requests, and
 * subscribes to the room engine's events to send them on. Nothing else in
 * server/ imports federation/.
 */
import type { Logger } from '../server/log';
import type { Route } from '../server/http/route';
import type { ServerRequest } from '../server/http/app';
import type { Services } from '../server/services';
import { createFederationClient, type FederationClient } from './client';
import { Edus } from './edus';
import { directEduSender } from './edus/direct-sender';
import { createServerKeys, type KeyFetch, type KeyRing } from './keys';
import { TransactionReceiver } from './inbound/transactions';
import { remoteEventSource } from './remote-source';
import { federationReadRoutes } from './routes';
import { sendRoutes } from './routes/send';

export interface Federation {
  /** Routes for listeners with the `federation` resource: /_matrix/federation/* and /_matrix/key/*. */
  routes: Route<any>[];
  /** Checks a request's X-Matrix signature; resolves with the origin server's name, or throws 401 M_UNAUTHORIZED. */
  authenticateServer(request: ServerRequest): Promise<string>;
  client: FederationClient;
  keyRing: KeyRing;
  /** Other servers' transactions: EDU handlers register here. */
  transactions: TransactionReceiver;
  /** Typing, receipts, presence, to-device messages and device lists across servers. */
  edus: Edus;
  /** Stops outbound work; called before the database closes. */
  stop(): Promise<void>;
}

export function createFederation(services: Services, log: Logger): Federation {
  const { config, stores } = services;
  const client = createFederationClient({ config, log });
  const fetch: KeyFetch = {
    serverKeys: (serverName) => client.get(serverName, '/_matrix/key/v2/server', { signed: false }),
    notaryQuery: (notary, body) => client.post(notary, '/_matrix/key/v2/query', body),
  };
  const keys = createServerKeys({ config, stores, fetch, log });
  services.remoteEvents.setFederationHooks({
    verifier: { verify: (pdu, version) => keys.keyRing.verifyEventSignatures(pdu, version) },
    source: remoteEventSource(client),
  });
  const transactions = new TransactionReceiver(services, log);
  const edus = new Edus({ services, client, transactions, sender: directEduSender(services, client), log });
  return {
    routes: [...keys.routes, ...federationReadRoutes(services), ...sendRoutes(transactions)],
    authenticateServer: keys.authenticateServer,
    client,
    keyRing: keys.keyRing,
    transactions,
    edus,
    stop: async () => {
      await edus.stop();
      await client.close();
    },
  };
}

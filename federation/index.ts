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
import { federationBackfiller } from './backfill';
import { createFederationClient, type FederationClient } from './client';
import { Edus } from './edus';
import { federationHierarchy } from './hierarchy';
import { createServerKeys, type KeyFetch, type KeyRing } from './keys';
import { TransactionReceiver } from './inbound/transactions';
import { createMemberships } from './memberships';
import { createFederationSender, type FederationSender, type TransactionResult } from './sender';
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
  /** Our events and EDUs to other servers, through persistent per-destination queues; absent when config.federation.send_outbound is off. */
  sender?: FederationSender;
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
  services.backfill.setBackfiller(federationBackfiller(client));
  services.spaces.setRemote(federationHierarchy(client, config.server_name));
  const transactions = new TransactionReceiver(services, log);
  const outbound = !config.federation.send_outbound ? undefined : createFederationSender({
    config,
    stores,
    events: services.events,
    log,
    transport: {
      sendTransaction: (destination, txnId, body, { signal }) =>
        client.put<TransactionResult>(destination, `/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`, body, { signal }),
    },
  });
  const edus = new Edus({ services, client, transactions, sender: outbound?.sender, log });
  const memberships = createMemberships({ services, client, keyRing: keys.keyRing, log, sender: outbound?.sender });
  return {
    routes: [...keys.routes, ...federationReadRoutes(services), ...sendRoutes(transactions), ...memberships.routes],
    async authenticateServer(request) {
      const origin = await keys.authenticateServer(request);
      // A server that talks to us is up: whatever waits for it goes now.
      outbound?.sender.wake(origin);
      return origin;
    },
    client,
    keyRing: keys.keyRing,
    transactions,
    sender: outbound?.sender,
    edus,
    async stop() {
      // EDUs still being queued need the sender.
      await edus.stop();
      await outbound?.stop();
      await client.close();
    },
  };
}

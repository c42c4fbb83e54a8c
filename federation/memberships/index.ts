/**
 * Joining, leaving, knocking and inviting across servers (docs/federation.md,
 * "Joining, leaving, inviting and knocking"), assembled: our side of the
 * handshakes, connected to the room engine and profiles, and the resident
 * side's routes.
 */
import type { Logger } from 'pino';
import type { Route } from '../../server/http/route';
import type { Services } from '../../server/services';
import { signingKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import type { FederationClient } from '../client';
import type { KeyRing } from '../keys';
import { RoomReads } from '../reads/room-reads';
import { ServerAccess } from '../reads/server-access';
import { membershipRoutes } from '../routes/memberships';
import { MembershipHandshakes } from './handshakes';
import { ResidentMemberships, type MembershipRelay } from './resident';

export { MembershipHandshakes } from './handshakes';
export { ResidentMemberships, type MembershipRelay } from './resident';

export interface MembershipDeps {
  services: Services;
  client: FederationClient;
  keyRing: KeyRing;
  log: Logger;
  /** Sends a membership event another server's user made through us on to the room's other servers. */
  relay?: MembershipRelay;
}

/** Connects the handshakes to `services.rooms` and `services.profiles`; returns the resident routes. */
export function createMemberships({ services, client, keyRing, log, relay }: MembershipDeps): { routes: Route<any>[]; resident: ResidentMemberships } {
  const { config, stores } = services;
  const signingKey = signingKeyPair(parseSigningKey(config.signing_key));
  const handshakes = new MembershipHandshakes({ client, keyRing, serverName: config.server_name, signingKey, log });
  services.rooms.setRemote(handshakes);
  services.profiles.setRemote(handshakes);
  const access = new ServerAccess(stores);
  const resident = new ResidentMemberships({ services, access, reads: new RoomReads(stores, access, config.server_name), keyRing, signingKey, relay });
  return { routes: membershipRoutes(resident), resident };
}

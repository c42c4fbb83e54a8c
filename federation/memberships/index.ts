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
import type { FederationSender } from '../sender';
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
  /** Passes on the membership events other servers' users make through us; absent, they are not passed on. */
  sender?: FederationSender;
}

/** Connects the handshakes to `services.rooms` and `services.profiles`; returns the resident routes. */
export function createMemberships({ services, client, keyRing, log, sender }: MembershipDeps): { routes: Route<any>[]; resident: ResidentMemberships } {
  const { config, stores } = services;
  const signingKey = signingKeyPair(parseSigningKey(config.signing_key));
  const handshakes = new MembershipHandshakes({ client, keyRing, serverName: config.server_name, signingKey, log });
  services.rooms.setRemote(handshakes);
  services.profiles.setRemote(handshakes);
  // The resident server sends a join, leave or knock it accepted to the room's other servers (the joiner's has it).
  const relay: MembershipRelay | undefined = sender && ((roomId, eventId, origin) => {
    void sender
      .serversInRoom(roomId)
      .then((servers) => sender.sendPdu(servers.filter((s) => s !== origin), eventId))
      .catch((err) => log.error({ err, roomId, eventId }, 'could not queue a membership event for the room'));
  });
  const access = new ServerAccess(stores);
  const resident = new ResidentMemberships({ services, access, reads: new RoomReads(stores, access, config.server_name), keyRing, signingKey, relay });
  return { routes: membershipRoutes(resident), resident };
}

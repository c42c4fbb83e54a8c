/**
 * What the room engine needs from federation to change memberships in rooms
 * this server is not in, as an interface: federation/ implements it (the
 * make/send handshakes, invites, directory and profile queries) and connects
 * it at start-up with Rooms.setRemote and Profiles.setRemote, so server/ never
 * imports federation/. Until then, rooms on other servers are unknown rooms.
 *
 * Each call rejects with a MatrixError to hand to the client: the resident
 * server's own error where it gave one (403 M_FORBIDDEN, 400
 * M_INCOMPATIBLE_ROOM_VERSION...), else 502.
 */
import type { Pdu, RoomEvent } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import type { ResolvedAlias } from './aliases';
import type { RoomSnapshot } from './remote-events';

/** One of our users asking to join, leave or knock on a room through other servers. */
export interface RemoteMembershipRequest {
  userId: string;
  roomId: string;
  /** Candidate resident servers, tried in order (never this server). */
  servers: readonly string[];
  /** Content for the membership event beyond `membership` (reason, displayname, avatar_url). */
  content: Record<string, unknown>;
}

export interface RemoteJoin {
  /** The server that accepted the join. */
  origin: string;
  /** Its send_join answer, for RemoteEvents.acceptRoomState. */
  snapshot: RoomSnapshot;
}

/** A leave or knock event a resident server accepted, signed by us. */
export interface RemoteMembershipEvent {
  version: RoomVersion;
  event: RoomEvent;
}

export interface RemoteMemberships {
  /** GET /query/directory on the alias's server: 404 M_NOT_FOUND for an unknown alias. */
  resolveAlias(alias: string): Promise<ResolvedAlias>;
  /** make_join, then send_join to the first server that answers: the room as it accepted the join. */
  join(request: RemoteMembershipRequest): Promise<RemoteJoin>;
  /** make_leave, then send_leave: rejects an invite or retracts a knock. */
  leave(request: RemoteMembershipRequest): Promise<RemoteMembershipEvent>;
  /** make_knock, then send_knock: the knock and the room's stripped state (knock_room_state, as sent). */
  knock(request: RemoteMembershipRequest): Promise<RemoteMembershipEvent & { knockRoomState: unknown[] }>;
  /**
   * PUT /invite to the invitee's server: the invite event we built and signed,
   * with the invited server's signature added (checked).
   */
  invite(invite: { roomId: string; version: RoomVersion; event: RoomEvent; inviteRoomState: Pdu[] }): Promise<Pdu>;
}

/** A remote user's profile: GET /query/profile on their server. */
export interface RemoteProfiles {
  profile(userId: string, field?: string): Promise<Record<string, unknown>>;
}

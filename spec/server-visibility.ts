/**
 * Which room events another server may read (for /event, /backfill,
 * /get_missing_events, /state at an event): the history visibility rules
 * (history_visibility module, "Server behaviour") applied to the server as a
 * whole, as if it were one user holding the most open membership any of its
 * users holds. A server with a joined user sees what that user sees; with only
 * an invited user, what an invited user sees.
 */
import { allowedAt, type ViewPoint } from './history-visibility';

/** The membership standing for the whole server: `join` if any of its users is joined, else `invite` if any is invited, else any other. */
export function serverMembership(memberships: Iterable<string>): string | undefined {
  const all = [...memberships];
  return all.find((m) => m === 'join') ?? all.find((m) => m === 'invite') ?? all[0];
}

/** The server name of a user ID: everything after the first colon. */
export function serverOfUser(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

export interface ServerEventVisibilityInput {
  type: string;
  stateKey?: string;
  server: string;
  /** The room before the event, and after it, with serverMembership() of the server's users. */
  before: ViewPoint;
  after: ViewPoint;
  /** Whether one of the server's users was joined at some point after the event (now included). */
  joinedAfterwards: boolean;
}

/**
 * Whether the server may see the event: the rules at the state before it; and
 * for history visibility changes and its own users' membership events, also
 * at the state after it.
 */
export function isEventVisibleToServer(input: ServerEventVisibilityInput): boolean {
  if (allowedAt(input.before, input.joinedAfterwards)) return true;
  const ownMembership = input.type === 'm.room.member' && input.stateKey !== undefined && serverOfUser(input.stateKey) === input.server;
  const judgedOnBoth = input.type === 'm.room.history_visibility' || ownMembership;
  return judgedOnBoth && allowedAt(input.after, input.joinedAfterwards);
}

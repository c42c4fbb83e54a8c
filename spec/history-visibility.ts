/**
 * Who may see which room events (history_visibility module, "Server behaviour").
 * Pure: the caller supplies the room's visibility setting and the user's
 * membership at the event, and whether the user joined at some point after it.
 */

export type HistoryVisibility = 'world_readable' | 'shared' | 'invited' | 'joined';

const KNOWN: ReadonlySet<string> = new Set(['world_readable', 'shared', 'invited', 'joined']);

/** The setting an m.room.history_visibility content expresses: `shared` when absent or not understood. */
export function historyVisibilityOf(content: Record<string, unknown> | undefined): HistoryVisibility {
  const value = content?.history_visibility;
  return typeof value === 'string' && KNOWN.has(value) ? (value as HistoryVisibility) : 'shared';
}

/** The room as one user saw it at one point: the visibility setting and the user's membership. */
export interface ViewPoint {
  visibility: HistoryVisibility;
  /** The user's membership in the state at that point, if any. */
  membership?: string;
}

/** The spec's five rules, at one point of the room's history. */
export function allowedAt(view: ViewPoint, joinedAfterwards: boolean): boolean {
  if (view.visibility === 'world_readable') return true;
  if (view.membership === 'join') return true;
  if (view.visibility === 'shared' && joinedAfterwards) return true;
  return view.visibility === 'invited' && view.membership === 'invite';
}

export interface EventVisibilityInput {
  /** The event's type and state key. */
  type: string;
  stateKey?: string;
  userId: string;
  /** The room before the event, and after it (the same for non-state events). */
  before: ViewPoint;
  after: ViewPoint;
  /** Whether the user's membership was `join` at any point after the event (including now). */
  joinedAfterwards: boolean;
}

/**
 * Whether the user may see the event. The rules apply to the state at the event
 * (before it); history-visibility changes and the user's own membership events
 * are also visible when the state after the event would allow them.
 */
export function isEventVisible(input: EventVisibilityInput): boolean {
  if (allowedAt(input.before, input.joinedAfterwards)) return true;
  const ownMembership = input.type === 'm.room.member' && input.stateKey === input.userId;
  // As Synapse does: a user always sees their own leave or ban, so a rejected invite
  // or a kick from a room whose history they cannot read still ends the room for them.
  if (ownMembership && (input.after.membership === 'leave' || input.after.membership === 'ban')) return true;
  const judgedOnBoth = input.type === 'm.room.history_visibility' || ownMembership;
  return judgedOnBoth && allowedAt(input.after, input.joinedAfterwards);
}

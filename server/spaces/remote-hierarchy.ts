/**
 * Asking other servers about rooms of a space this server is not in
 * (GET /_matrix/federation/v1/hierarchy/{roomId}). The request, and the
 * caching of answers, are federation's: it connects a RemoteHierarchy at
 * start-up with SpaceHierarchy.setRemote.
 */
import type { HierarchyRoom } from '../../spec/room-summary';

/** A child's summary in another server's answer; `childrenState` says whether it came with its m.space.child events. */
export interface RemoteChild {
  room: HierarchyRoom;
  childrenState: boolean;
}

/** Another server's answer, its summaries checked for shape (spec/room-summary.ts). */
export interface RemoteHierarchyAnswer {
  /** The room asked about, with its children_state. */
  room: HierarchyRoom;
  /** Its children the answering server could summarise and our server may peek or join. */
  children: RemoteChild[];
  /** Its children no server of ours may peek or join: not to be asked about again. */
  inaccessibleChildren: string[];
}

export interface RemoteHierarchy {
  /**
   * The room's hierarchy from the first of `via` that answers with one (the
   * same answer again for a while); undefined when none does.
   */
  fetch(roomId: string, via: readonly string[], suggestedOnly: boolean): Promise<RemoteHierarchyAnswer | undefined>;
}

/**
 * Reading a room's history: who may page through it at all, how far, and which
 * events of a page they see. /messages, /context, /relations, /threads and
 * timestamp_to_event all read through here.
 *
 * A user may read a room they are joined to, have been joined to, or that is
 * world-readable now (like Synapse: others, invited users included, get 403).
 * A former member's history ends at their current membership event (their
 * leave, ban or later invite): nothing after it is visible to them.
 */
import { forbidden } from '../../spec/errors';
import type { Stores } from '../../storage';
import { shownToClients, type StoredEvent } from '../../storage/events';
import { pointAfter, ROOM_START, type Point, type RoomToken } from './tokens';
import type { Visibility } from './visibility';

export interface Reader {
  roomId: string;
  userId: string;
  /** The last point of history the user may read, for a former member; absent while they may read on. */
  horizon?: Point;
  /** Senders whose non-state events the user has chosen to ignore. */
  ignored: ReadonlySet<string>;
}

/** The users in the user's m.ignored_user_list account data. */
export async function ignoredUsers(stores: Stores, userId: string): Promise<Set<string>> {
  const content = await stores.accountData.get(userId, null, 'm.ignored_user_list');
  const ignored = content?.ignored_users;
  return new Set(typeof ignored === 'object' && ignored !== null && !Array.isArray(ignored) ? Object.keys(ignored) : []);
}

export class HistoryAccess {
  constructor(
    private readonly stores: Stores,
    private readonly visibility: Visibility,
  ) {}

  /** The user as a reader of the room; 403 M_FORBIDDEN for an unknown room or one they may not read. */
  async open(userId: string, roomId: string): Promise<Reader> {
    if (!(await this.stores.rooms.get(roomId))) throw forbidden('You are not allowed to read this room');
    const ignored = await ignoredUsers(this.stores, userId);
    const member = await this.stores.roomState.currentStateEvent(roomId, 'm.room.member', userId);
    if (member?.pdu.content.membership === 'join') return { roomId, userId, ignored };
    if (await this.visibility.worldReadableNow(roomId)) return { roomId, userId, ignored };
    const memberEvent = member && (await this.stores.events.get([member.id])).get(member.id);
    if (memberEvent?.streamOrdering == null || (await this.stores.timeline.lastJoin(roomId, userId)) === undefined) {
      throw forbidden('You are not allowed to read this room');
    }
    return { roomId, userId, ignored, horizon: pointAfter({ depth: memberEvent.depth, streamOrdering: memberEvent.streamOrdering }) };
  }

  /** The point a token names in the room: a stream position falls after the room's last event at or before it. */
  async point(roomId: string, token: RoomToken): Promise<Point> {
    if (token.kind === 'topological') return token.point;
    const last = await this.stores.timeline.lastAtOrBefore(roomId, token.stream);
    return last ? { depth: last.depth, stream: token.stream } : ROOM_START;
  }

  /** Whether the reader may see anything sent just before `stored` (history not fetched yet, behind a gap). */
  mayReadBefore(reader: Reader, stored: StoredEvent): Promise<boolean> {
    return this.visibility.mayReadBefore(reader.userId, stored);
  }

  /** The events the reader may see, without the non-state events of users they ignore; in the order given. */
  async visible(reader: Reader, events: readonly StoredEvent[]): Promise<StoredEvent[]> {
    const wanted = events.filter(
      (stored) =>
        stored.roomId === reader.roomId &&
        shownToClients(stored) &&
        (stored.event.pdu.state_key !== undefined || !reader.ignored.has(stored.event.pdu.sender)),
    );
    return this.visibility.filter(reader.userId, wanted);
  }
}

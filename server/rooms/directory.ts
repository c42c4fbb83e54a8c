/**
 * The published room directory (list_public_rooms.yaml, "Published room
 * directory"): which rooms are listed, who may list them, and the listing
 * itself, searched, filtered by room type and paginated.
 */
import { forbidden, invalidParam, notFound } from '../../spec/errors';
import { isValidServerName } from '../../spec/identifiers';
import { stateTuple } from '../../spec/pdu';
import { PowerLevels } from '../../spec/power-levels';
import { roomVersion } from '../../spec/room-versions';
import type { PublicRoomsChunk } from '../../spec/room-summary';
import type { PublicRoomsBody } from '../../spec/schemas/rooms';
import type { Stores } from '../../storage';
import type { PublishedRoom } from '../../storage/room-directory';
import type { Config } from '../config/schema';
import type { Requester } from '../http/route';
import { roomSummaryOf, SUMMARY_STATE } from './room-summary';

export type DirectoryVisibility = 'public' | 'private';

export interface PublicRoomsResponse {
  chunk: PublicRoomsChunk[];
  next_batch?: string;
  prev_batch?: string;
  total_room_count_estimate: number;
}

/**
 * Published rooms are listed only while someone is in them and a reader could
 * get in or look in, as Synapse does (the spec lets servers leave out
 * invite-only rooms that are not world-readable).
 */
const LISTABLE_JOIN_RULES: ReadonlySet<string> = new Set(['public', 'knock', 'knock_restricted']);

/**
 * Whether the user may change the room's directory entry and delete others'
 * aliases for it: server admins, and members with the power to set
 * m.room.canonical_alias (Synapse's rule: such members are the room's moderators).
 */
export async function canEditDirectoryEntry(stores: Stores, requester: Requester, roomId: string): Promise<boolean> {
  if (requester.isAdmin) return true;
  const room = await stores.rooms.get(roomId);
  if (!room || (await stores.memberships.of(roomId, requester.userId)) !== 'join') return false;
  const state = await stores.roomState.currentStateEvents(roomId, [stateTuple('m.room.create', ''), stateTuple('m.room.power_levels', '')]);
  const levels = PowerLevels.fromState(state, roomVersion(room.version)!);
  return levels.user(requester.userId) >= levels.required('m.room.canonical_alias', true);
}

export class RoomDirectory {
  constructor(
    private readonly stores: Stores,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {}

  async visibility(roomId: string): Promise<DirectoryVisibility> {
    if (!(await this.stores.rooms.get(roomId))) throw notFound('Room not found');
    return (await this.stores.roomDirectory.isPublished(roomId)) ? 'public' : 'private';
  }

  async setVisibility(requester: Requester, roomId: string, visibility: DirectoryVisibility): Promise<void> {
    if (!(await this.stores.rooms.get(roomId))) throw notFound('Room not found');
    if (!(await canEditDirectoryEntry(this.stores, requester, roomId))) {
      throw forbidden("Changing the room's directory entry needs the power to set its canonical alias");
    }
    if (visibility === 'private') {
      await this.stores.roomDirectory.unpublish(roomId);
      return;
    }
    this.checkMayPublish(requester);
    await this.stores.roomDirectory.publish(roomId, this.now());
  }

  /** What the configuration adds to the room's own rule for publishing; createRoom asks before making the room. */
  checkMayPublish(requester: Requester): void {
    if (this.config.room_directory.publish === 'admins_only' && !requester.isAdmin) {
      throw forbidden('Only server administrators may publish rooms in the directory');
    }
  }

  /** Lists a room created with `visibility: public` (createRoom checked checkMayPublish first). */
  async publishNewRoom(roomId: string): Promise<void> {
    await this.stores.roomDirectory.publish(roomId, this.now());
  }

  /** GET and POST /publicRooms. `since` is an offset into the ordered, filtered listing. */
  async publicRooms(request: PublicRoomsBody, server: string | undefined): Promise<PublicRoomsResponse> {
    if (server !== undefined && server !== this.config.server_name) {
      if (!isValidServerName(server)) throw invalidParam(`'${server}' is not a valid server name`);
      throw notFound(`The room directory of ${server} cannot be fetched yet`);
    }
    if (request.include_all_networks && request.third_party_instance_id !== undefined) {
      throw invalidParam("'include_all_networks' cannot be used with a 'third_party_instance_id'");
    }
    const offset = request.since === undefined ? 0 : parseSince(request.since);
    // This server bridges no third-party networks, so a request for one of them lists nothing.
    const rooms = request.third_party_instance_id !== undefined ? [] : await this.listing(request.filter ?? {});
    const end = request.limit === undefined ? rooms.length : Math.min(rooms.length, offset + request.limit);
    const response: PublicRoomsResponse = { chunk: rooms.slice(offset, end), total_room_count_estimate: rooms.length };
    if (end < rooms.length) response.next_batch = sinceToken(end);
    if (offset > 0 && rooms.length > 0) response.prev_batch = sinceToken(Math.max(0, offset - (request.limit ?? offset)));
    return response;
  }

  /** Every listable published room matching the filter, the most joined members first. */
  private async listing(filter: NonNullable<PublicRoomsBody['filter']>): Promise<PublicRoomsChunk[]> {
    const term = filter.generic_search_term?.trim().toLowerCase();
    const types = filter.room_types !== undefined && filter.room_types.length > 0 ? new Set(filter.room_types) : undefined;
    return (await this.stores.roomDirectory.published(SUMMARY_STATE))
      .map(chunkOf)
      .filter((chunk): chunk is PublicRoomsChunk => chunk !== undefined)
      .filter((chunk) => types === undefined || types.has(chunk.room_type ?? null))
      .filter((chunk) => !term || [chunk.name, chunk.topic, chunk.canonical_alias].some((text) => text?.toLowerCase().includes(term)))
      .sort((a, b) => b.num_joined_members - a.num_joined_members || (a.room_id < b.room_id ? -1 : a.room_id > b.room_id ? 1 : 0));
  }
}

/** The room's listing, or undefined if it is not listable now. */
function chunkOf(room: PublishedRoom): PublicRoomsChunk | undefined {
  // The summary's allow conditions, encryption and version are not part of a listing.
  const { allowed_room_ids: _allowed, encryption: _encryption, room_version: _version, ...chunk } = roomSummaryOf(room);
  const listable = (chunk.join_rule !== undefined && LISTABLE_JOIN_RULES.has(chunk.join_rule)) || chunk.world_readable;
  return room.joinedMembers > 0 && listable ? chunk : undefined;
}

const sinceToken = (offset: number) => `o${offset}`;

function parseSince(token: string): number {
  const match = /^o(\d{1,9})$/.exec(token);
  if (!match) throw invalidParam(`'${token}' is not a pagination token of this server`);
  return Number(match[1]);
}

/**
 * Room aliases this server hosts (directory.yaml, "Room aliases"): creating,
 * resolving and deleting `#localpart:server` → room ID mappings, and listing a
 * room's local aliases. Aliases on other servers resolve over federation (to come).
 */
import { forbidden, MatrixError, invalidParam, notFound } from '../../spec/errors';
import { parseRoomAlias } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { Config } from '../config/schema';
import type { Requester } from '../http/route';
import { canEditDirectoryEntry } from './directory';
import type { EventSender } from './event-sender';
import type { Visibility } from './visibility';

export interface ResolvedAlias {
  room_id: string;
  servers: string[];
}

export class Aliases {
  constructor(
    private readonly stores: Stores,
    private readonly sender: EventSender,
    private readonly config: Config,
    private readonly visibility: Visibility,
    private readonly now: () => number = Date.now,
  ) {}

  /** createRoom's `room_alias_name`: maps the alias in the transaction creating the room; 400 M_ROOM_IN_USE if taken. */
  async reserve(alias: string, roomId: string, creator: string, trx: Db): Promise<void> {
    this.checkNewAlias(alias);
    if (!(await this.stores.roomAliases.insert({ alias, roomId, creator }, this.now(), trx))) {
      throw new MatrixError(400, 'M_ROOM_IN_USE', `Room alias ${alias} is already in use`);
    }
  }

  /** PUT /directory/room/{roomAlias}: members of the room (and server admins) may add aliases. */
  async create(requester: Requester, alias: string, roomId: string): Promise<void> {
    this.checkNewAlias(alias);
    if (!(await this.stores.rooms.get(roomId))) throw notFound('Room not found');
    if (!requester.isAdmin && (await this.stores.memberships.of(roomId, requester.userId)) !== 'join') {
      throw forbidden('You must be in the room to create an alias for it');
    }
    if (!(await this.stores.roomAliases.insert({ alias, roomId, creator: requester.userId }, this.now()))) {
      throw new MatrixError(409, 'M_UNKNOWN', `Room alias ${alias} already exists`);
    }
  }

  /** GET /directory/room/{roomAlias}: the room and servers that can help join it, this one first. */
  async resolve(alias: string): Promise<ResolvedAlias> {
    const found = await this.localAlias(alias);
    const servers = new Set([this.config.server_name]);
    for (const member of await this.stores.memberships.members(found.roomId, { membership: 'join' })) {
      servers.add(member.userId.slice(member.userId.indexOf(':') + 1));
    }
    return { room_id: found.roomId, servers: [...servers] };
  }

  /**
   * DELETE /directory/room/{roomAlias}: by its creator, a server admin, or a
   * member who may set the room's canonical alias. The alias is then taken out
   * of m.room.canonical_alias if the requester may change that event.
   */
  async delete(requester: Requester, alias: string): Promise<void> {
    const found = await this.localAlias(alias);
    if (found.creator !== requester.userId && !(await canEditDirectoryEntry(this.stores, requester, found.roomId))) {
      throw forbidden('You may not delete this alias');
    }
    await this.stores.roomAliases.delete(alias);
    await this.removeFromCanonicalAlias(requester, found.roomId, alias);
  }

  /** GET /rooms/{roomId}/aliases: for members, anyone when the room is world-readable, and server admins. */
  async ofRoom(requester: Requester, roomId: string): Promise<string[]> {
    if (requester.isAdmin) {
      if (!(await this.stores.rooms.get(roomId))) throw notFound('Room not found');
    } else if (!(await this.joinedOrWorldReadable(requester.userId, roomId))) {
      throw forbidden('You are not in this room');
    }
    return this.stores.roomAliases.ofRoom(roomId);
  }

  private async localAlias(alias: string): Promise<{ roomId: string; creator: string }> {
    const parsed = parseRoomAlias(alias);
    if (!parsed) throw invalidParam(`'${alias}' is not a valid room alias`);
    const found = parsed.serverName === this.config.server_name ? await this.stores.roomAliases.get(alias) : undefined;
    if (!found) throw notFound(`Room alias ${alias} not found`);
    return found;
  }

  /** A new alias must be this server's, with a localpart neither empty nor holding whitespace. */
  private checkNewAlias(alias: string): void {
    const parsed = parseRoomAlias(alias);
    if (!parsed || parsed.localpart === '' || /\s/.test(parsed.localpart)) throw invalidParam(`'${alias}' is not a valid room alias`);
    if (parsed.serverName !== this.config.server_name) throw invalidParam(`Room aliases must be on this server (${this.config.server_name})`);
  }

  private async joinedOrWorldReadable(userId: string, roomId: string): Promise<boolean> {
    if (!(await this.stores.rooms.get(roomId))) return false;
    if ((await this.stores.memberships.of(roomId, userId)) === 'join') return true;
    return this.visibility.worldReadableNow(roomId);
  }

  private async removeFromCanonicalAlias(requester: Requester, roomId: string, alias: string): Promise<void> {
    try {
      await this.sender.inRoom(roomId, async (room) => {
        const current = await this.stores.roomState.currentStateEvent(roomId, 'm.room.canonical_alias', '', room.trx);
        if (!current) return;
        const content = { ...current.pdu.content };
        const altAliases = Array.isArray(content.alt_aliases) ? content.alt_aliases : undefined;
        const remaining = altAliases?.filter((a) => a !== alias);
        if (content.alias !== alias && remaining?.length === altAliases?.length) return;
        if (content.alias === alias) delete content.alias;
        if (remaining !== undefined) content.alt_aliases = remaining;
        await room.append({ type: 'm.room.canonical_alias', stateKey: '', sender: requester.userId, content });
      });
    } catch (err) {
      // The alias is gone either way; a requester without the power to edit the event leaves it as it was.
      if (!(err instanceof MatrixError && err.status === 403)) throw err;
    }
  }
}

/**
 * The relationships API: GET /relations (the children of an event, optionally
 * by rel type and event type, optionally recursing) and GET /threads (a room's
 * thread roots, most recently active first). Tokens are server/rooms/tokens.ts
 * points, so /messages and /sync tokens work here too.
 */
import type { ClientEvent } from '../../spec/client-event';
import { MatrixError, notFound } from '../../spec/errors';
import { redact } from '../../spec/redaction';
import { roomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import type { Requester } from '../http/route';
import type { ClientEvents } from './client-events';
import type { HistoryAccess, Reader } from './history-access';
import { pointAfter, pointBefore, topologicalToken, type Point, type RoomToken } from './tokens';

/** How many levels of relations `recurse` follows (the spec asks for at least 3). */
export const RECURSION_LEVELS = 3;

export interface Token {
  token: string;
  parsed: RoomToken;
}

export interface RelationsRequest {
  relType?: string;
  eventType?: string;
  from?: Token;
  to?: Token;
  dir: 'b' | 'f';
  limit: number;
  /** Absent when the client did not send `recurse`. */
  recurse?: boolean;
}

export interface RelationsResponse {
  chunk: ClientEvent[];
  next_batch?: string;
  prev_batch?: string;
  recursion_depth?: number;
}

export class Relations {
  constructor(
    private readonly stores: Stores,
    private readonly access: HistoryAccess,
    private readonly clientEvents: ClientEvents,
  ) {}

  /** The children of `parentId`; 404 M_NOT_FOUND when the requester cannot see it. */
  async children(requester: Requester, roomId: string, parentId: string, request: RelationsRequest): Promise<RelationsResponse> {
    const reader = await this.readerOf(requester, roomId, parentId);
    const backwards = request.dir === 'b';
    const from = request.from && (await this.access.point(roomId, request.from.parsed));
    const to = request.to && (await this.access.point(roomId, request.to.parsed));
    const [lower, upper] = backwards ? [to, from] : [from, to];
    const rows = await this.stores.relations.related(roomId, parentId, {
      relType: request.relType,
      eventType: request.eventType,
      levels: request.recurse ? RECURSION_LEVELS : 1,
      excludeSenders: [...reader.ignored],
      after: lower && { depth: lower.depth, stream: lower.stream },
      before: upper && { depth: upper.depth, stream: upper.stream + 1 },
      order: backwards ? 'desc' : 'asc',
      limit: request.limit + 1,
    });
    const page = rows.slice(0, request.limit);
    const loaded = await this.stores.events.get(page.map((r) => r.eventId));
    const children = await this.access.visible(reader, page.flatMap((r) => loaded.get(r.eventId) ?? []));
    const response: RelationsResponse = { chunk: await this.clientEvents.format(children, requester) };
    const last = page.at(-1);
    if (rows.length > request.limit && last) {
      const position = { depth: last.depth, streamOrdering: last.stream };
      response.next_batch = topologicalToken(backwards ? pointBefore(position) : pointAfter(position));
    }
    if (request.from) response.prev_batch = request.from.token;
    if (request.recurse !== undefined) response.recursion_depth = request.recurse ? RECURSION_LEVELS : 1;
    return response;
  }

  /**
   * The room's thread roots the requester may see, the most recently active
   * first; with `participated`, only threads they started or replied in. A root
   * sent by a user the requester ignores is served redacted.
   */
  async threads(
    requester: Requester,
    roomId: string,
    request: { include: 'all' | 'participated'; from?: Token; limit: number },
  ): Promise<{ chunk: ClientEvent[]; next_batch?: string }> {
    const reader = await this.access.open(requester.userId, roomId);
    const from: Point | undefined = request.from && (await this.access.point(roomId, request.from.parsed));
    const rows = await this.stores.relations.threads(roomId, {
      before: from && { depth: from.depth, stream: from.stream + 1 },
      limit: request.limit + 1,
      participant: request.include === 'participated' ? requester.userId : undefined,
    });
    const page = rows.slice(0, request.limit);
    const loaded = await this.stores.events.get(page.map((r) => r.rootId));
    const roots = await this.access.visible({ ...reader, ignored: new Set() }, page.flatMap((r) => loaded.get(r.rootId) ?? []));
    const chunk = await this.clientEvents.format(roots, requester);
    const version = roomVersion((await this.stores.rooms.get(roomId))!.version)!;
    roots.forEach((root, i) => {
      if (reader.ignored.has(root.event.pdu.sender)) chunk[i].content = redact(root.event.pdu, version).content;
    });
    const last = page.at(-1);
    return rows.length > request.limit && last
      ? { chunk, next_batch: topologicalToken(pointBefore({ depth: last.depth, streamOrdering: last.stream })) }
      : { chunk };
  }

  /** The reader, if they can see the parent event; 404 otherwise (the spec's answer for both). */
  private async readerOf(requester: Requester, roomId: string, parentId: string): Promise<Reader> {
    let reader: Reader;
    try {
      reader = await this.access.open(requester.userId, roomId);
    } catch (err) {
      if (err instanceof MatrixError && err.status === 403) throw notFound('Event not found');
      throw err;
    }
    const parent: StoredEvent | undefined = (await this.stores.events.get([parentId])).get(parentId);
    if (!parent || (await this.access.visible(reader, [parent])).length === 0) throw notFound('Event not found');
    return reader;
  }
}

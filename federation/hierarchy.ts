/**
 * The space hierarchy's RemoteHierarchy (server/spaces/remote-hierarchy.ts)
 * over GET /_matrix/federation/v1/hierarchy/{roomId} (space_hierarchy.yaml):
 * the `via` servers are asked in turn until one answers with a well-formed
 * hierarchy of the room asked about. Answers are cached for a few minutes
 * (the spec asks for it), failures for less; concurrent fetches of the same
 * room share one request.
 */
import { isValidRoomId, isValidServerName } from '../spec/identifiers';
import { isJsonObject } from '../spec/power-levels';
import { hierarchyRoomFromJson } from '../spec/room-summary';
import type { RemoteChild, RemoteHierarchy, RemoteHierarchyAnswer } from '../server/spaces/remote-hierarchy';
import type { FederationClient } from './client';

export interface RemoteHierarchyOptions {
  /** How long an answer is used again. */
  ttlMs: number;
  /** How long a room no server answered for is not asked about again (with the same `via`). */
  failureTtlMs: number;
  /** Answers and failures kept at most; the oldest go first. */
  maxEntries: number;
  /** `via` servers asked per fetch at most. */
  maxServers: number;
  /** The largest answer read. */
  maxResponseBytes: number;
  now: () => number;
}

export const DEFAULT_REMOTE_HIERARCHY_OPTIONS: RemoteHierarchyOptions = {
  ttlMs: 5 * 60_000,
  failureTtlMs: 60_000,
  maxEntries: 1_000,
  maxServers: 3,
  maxResponseBytes: 10 * 1024 * 1024,
  now: Date.now,
};

interface Cached {
  answer: RemoteHierarchyAnswer | undefined;
  expiresAt: number;
}

export function federationHierarchy(
  client: FederationClient,
  serverName: string,
  options: RemoteHierarchyOptions = DEFAULT_REMOTE_HIERARCHY_OPTIONS,
): RemoteHierarchy {
  const cache = new Map<string, Cached>();
  const running = new Map<string, Promise<RemoteHierarchyAnswer | undefined>>();

  const remember = (key: string, answer: RemoteHierarchyAnswer | undefined) => {
    cache.delete(key);
    cache.set(key, { answer, expiresAt: options.now() + (answer ? options.ttlMs : options.failureTtlMs) });
    while (cache.size > options.maxEntries) cache.delete(cache.keys().next().value!);
  };

  const ask = async (roomId: string, servers: readonly string[], suggestedOnly: boolean) => {
    for (const server of servers) {
      try {
        const body = await client.get(server, `/_matrix/federation/v1/hierarchy/${encodeURIComponent(roomId)}`, {
          query: { suggested_only: suggestedOnly },
          maxResponseBytes: options.maxResponseBytes,
        });
        const answer = hierarchyAnswerFromJson(body, roomId);
        if (answer) return answer;
      } catch {
        // Unreachable, refused, or not in the room: the next server may know it.
      }
    }
    return undefined;
  };

  return {
    fetch(roomId, via, suggestedOnly) {
      const servers = [...new Set(via)].filter((server) => server !== serverName && isValidServerName(server)).slice(0, options.maxServers);
      const answered = `${suggestedOnly} ${roomId}`;
      const failed = `${answered} ${servers.join(' ')}`;
      for (const key of [answered, failed]) {
        const cached = cache.get(key);
        if (cached && cached.expiresAt > options.now()) return Promise.resolve(cached.answer);
      }
      let fetching = running.get(failed);
      if (!fetching) {
        fetching = ask(roomId, servers, suggestedOnly)
          .then((answer) => {
            remember(answer ? answered : failed, answer);
            return answer;
          })
          .finally(() => running.delete(failed));
        running.set(failed, fetching);
      }
      return fetching;
    },
  };
}

/** The answer, if it is a hierarchy of `roomId`: its room must be that room; malformed children are left out. */
export function hierarchyAnswerFromJson(body: unknown, roomId: string): RemoteHierarchyAnswer | undefined {
  if (!isJsonObject(body)) return undefined;
  const room = hierarchyRoomFromJson(body.room);
  if (!room || room.room.room_id !== roomId) return undefined;
  const children: RemoteChild[] = [];
  for (const child of Array.isArray(body.children) ? body.children : []) {
    const parsed = hierarchyRoomFromJson(child);
    if (parsed) children.push({ room: parsed.room, childrenState: parsed.childrenState });
  }
  const inaccessible = Array.isArray(body.inaccessible_children) ? body.inaccessible_children : [];
  return {
    room: room.room,
    children,
    inaccessibleChildren: inaccessible.filter((id): id is string => typeof id === 'string' && isValidRoomId(id)),
  };
}

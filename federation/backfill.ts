/**
 * The room engine's Backfiller (server/rooms/backfill.ts) over federation
 * requests: GET /_matrix/federation/v1/backfill/{roomId}?v=…&limit=… (backfill.yaml).
 */
import type { Backfiller, BackfillResponse } from '../server/rooms/backfill';
import type { FederationClient } from './client';

export function federationBackfiller(client: FederationClient): Backfiller {
  return {
    backfill: (server, roomId, from, limit) =>
      client.get<BackfillResponse>(server, `/_matrix/federation/v1/backfill/${encodeURIComponent(roomId)}`, { query: { v: from, limit } }),
  };
}

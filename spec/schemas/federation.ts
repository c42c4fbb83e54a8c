/** Request bodies of the Server-Server API endpoints that answer other servers' questions (backfill.yaml). */
import { compileSchema } from '../validate';

const eventIds = { type: 'array', items: { type: 'string', maxLength: 255 } };

export interface MissingEventsBody {
  limit?: number;
  min_depth?: number;
  earliest_events: string[];
  latest_events: string[];
}

/** POST /get_missing_events/{roomId} */
export const missingEventsBody = compileSchema<MissingEventsBody>({
  type: 'object',
  required: ['earliest_events', 'latest_events'],
  properties: {
    limit: { type: 'integer' },
    min_depth: { type: 'integer' },
    earliest_events: eventIds,
    latest_events: eventIds,
  },
});

/** The most PDUs and EDUs one transaction may carry ("Transactions"). */
export const MAX_TRANSACTION_PDUS = 50;
export const MAX_TRANSACTION_EDUS = 100;

export interface Edu {
  edu_type: string;
  content: Record<string, unknown>;
}

export interface TransactionBody {
  origin: string;
  origin_server_ts: number;
  pdus: Record<string, unknown>[];
  edus?: Edu[];
}

/** PUT /send/{txnId} (transactions.yaml). PDUs are checked one by one later: here only that they are objects. */
export const transactionBody = compileSchema<TransactionBody>({
  type: 'object',
  required: ['origin', 'origin_server_ts', 'pdus'],
  properties: {
    origin: { type: 'string', minLength: 1, maxLength: 255 },
    origin_server_ts: { type: 'integer' },
    pdus: { type: 'array', maxItems: MAX_TRANSACTION_PDUS, items: { type: 'object' } },
    edus: {
      type: 'array',
      maxItems: MAX_TRANSACTION_EDUS,
      items: { type: 'object', required: ['edu_type', 'content'], properties: { edu_type: { type: 'string' }, content: { type: 'object' } } },
    },
  },
});

export interface InviteV2Body {
  room_version: string;
  event: Record<string, unknown>;
  invite_room_state?: unknown[];
}

/** PUT /v2/invite/{roomId}/{eventId} (invites-v2.yaml). */
export const inviteV2Body = compileSchema<InviteV2Body>({
  type: 'object',
  required: ['room_version', 'event'],
  properties: {
    room_version: { type: 'string', maxLength: 32 },
    event: { type: 'object' },
    invite_room_state: { type: 'array' },
  },
});

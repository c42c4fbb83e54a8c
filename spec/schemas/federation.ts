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

/** The body of PUT /presence/{userId}/status (presence.yaml). */
import { compileSchema } from '../validate';

export const PRESENCE_STATES = ['online', 'unavailable', 'offline'] as const;

export type PresenceState = (typeof PRESENCE_STATES)[number];

export interface PresenceBody {
  presence: PresenceState;
  status_msg?: string;
}

export const presenceBody = compileSchema<PresenceBody>({
  type: 'object',
  required: ['presence'],
  properties: {
    presence: { type: 'string', enum: PRESENCE_STATES },
    status_msg: { type: 'string' },
  },
});

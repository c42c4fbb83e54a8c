/** The body of PUT /sendToDevice/{eventType}/{txnId} (to_device.yaml). */
import { compileSchema } from '../validate';

/** The device ID that addresses every device of a user. */
export const ALL_DEVICES = '*';

export interface SendToDeviceBody {
  /** User ID → device ID (or `*`) → message content. */
  messages: Record<string, Record<string, Record<string, unknown>>>;
}

export const sendToDeviceBody = compileSchema<SendToDeviceBody>({
  type: 'object',
  required: ['messages'],
  properties: {
    messages: {
      type: 'object',
      propertyNames: { pattern: '^@' },
      additionalProperties: {
        type: 'object',
        additionalProperties: { type: 'object' },
      },
    },
  },
});

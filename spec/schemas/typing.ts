/** The body of PUT /rooms/{roomId}/typing/{userId} (typing.yaml). */
import { compileSchema } from '../validate';

export interface TypingBody {
  typing: boolean;
  /** Milliseconds; may be left out when `typing` is false. */
  timeout?: number;
}

export const typingBody = compileSchema<TypingBody>({
  type: 'object',
  required: ['typing'],
  properties: {
    typing: { type: 'boolean' },
    timeout: { type: 'integer', minimum: 0 },
  },
});

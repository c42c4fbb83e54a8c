/** Room tags (tags.yaml, m.tag): the body of PUT /user/{userId}/rooms/{roomId}/tags/{tag} and tag names. */
import { invalidParam } from '../errors';
import { compileSchema } from '../validate';

/** "The name of a tag MUST NOT exceed 255 bytes." */
export const MAX_TAG_BYTES = 255;

/** What a tag carries (definitions/tag.yaml); other keys are kept as given. */
export interface TagBody {
  order?: number;
  [key: string]: unknown;
}

export const tagBody = compileSchema<TagBody>({
  type: 'object',
  properties: { order: { type: 'number' } },
});

/** Throws 400 M_INVALID_PARAM unless `tag` may name a tag. */
export function checkTagName(tag: string): void {
  if (Buffer.byteLength(tag, 'utf8') > MAX_TAG_BYTES) throw invalidParam(`Tag names may not be longer than ${MAX_TAG_BYTES} bytes`);
}

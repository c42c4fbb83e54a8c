/**
 * Orderings the state resolution algorithms break ties with.
 */
import { createHash } from 'node:crypto';

/**
 * Compares strings by Unicode code point, as the spec's "x's event_id is less
 * than y's" means (JavaScript's `<` compares UTF-16 code units, which differs
 * for astral characters against U+E000-U+FFFF).
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000-U+FFFF, so code units sort as the code points they encode. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** sha1(event_id) as room version 1 sorts by it: the hex digest of the ID's UTF-8 bytes. */
export function sha1Hex(eventId: string): string {
  return createHash('sha1').update(eventId, 'utf8').digest('hex');
}

/**
 * Glob-style matching (appendices, "Glob-style matching"): `*` matches zero or
 * more characters, `?` exactly one; everything else matches itself,
 * case-insensitively. event_match matches the whole value, except on
 * `content.body`, where the pattern may match any substring that starts and
 * ends at a word boundary (the start or end of the value, or a character
 * outside [A-Za-z0-9_]).
 */

const WORD = 'A-Za-z0-9_';
const compiled = new Map<string, RegExp>();
const MAX_CACHED = 4096;

function globSource(pattern: string): string {
  let source = '';
  for (const c of pattern) {
    if (c === '*') source += '[^]*';
    else if (c === '?') source += '[^]';
    else source += /[\^$\\.+()[\]{}|/]/.test(c) ? `\\${c}` : c;
  }
  return source;
}

function regexFor(pattern: string, words: boolean): RegExp {
  const key = `${words ? 'w' : 'v'}${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    const source = globSource(pattern);
    re = new RegExp(words ? `(?<![${WORD}])(?:${source})(?![${WORD}])` : `^(?:${source})$`, 'iu');
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(key, re);
  }
  return re;
}

/** Whether `pattern` matches all of `value`. */
export function globMatches(pattern: string, value: string): boolean {
  return regexFor(pattern, false).test(value);
}

/** Whether `pattern` matches a substring of `value` that starts and ends at word boundaries. */
export function globMatchesWords(pattern: string, value: string): boolean {
  return regexFor(pattern, true).test(value);
}

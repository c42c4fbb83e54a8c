/**
 * Dot-separated property paths (appendices, "Dot-separated property paths"):
 * `content.m\.relates_to.rel_type`. A backslash escapes a dot or a backslash;
 * any other backslash is literal.
 */

const parsed = new Map<string, string[]>();
const MAX_CACHED = 4096;

/** The property names a path walks through. */
export function splitPropertyPath(path: string): string[] {
  const cached = parsed.get(path);
  if (cached) return cached;
  const names: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    const next = path[i + 1];
    if (c === '\\' && (next === '.' || next === '\\')) {
      current += next;
      i++;
    } else if (c === '.') {
      names.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  names.push(current);
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(path, names);
  return names;
}

/** The value at `path` in `object` (own properties of JSON objects only); undefined when absent. */
export function propertyAt(object: unknown, path: string): unknown {
  let value: unknown = object;
  for (const name of splitPropertyPath(path)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

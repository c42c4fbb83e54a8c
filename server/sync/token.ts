/**
 * Sync tokens (docs/sync.md): one position in each stream, in a fixed order,
 * written `s{rooms}_{account_data}_{receipts}_{typing}_{presence}_{to_device}_{device_lists}_{push_rules}`.
 * The first position is the room event stream, so a sync token is also an `s`
 * room token that /messages accepts (server/rooms/tokens.ts). Positions are
 * database numbers (typing's restart from a clock reading, see typing.ts), so a
 * token survives restarts and means the same in every process.
 */
import { invalidParam } from '../../spec/errors';

/** Every stream a sync token carries, in token order. Append new streams at the end only. */
export const STREAMS = ['rooms', 'account_data', 'receipts', 'typing', 'presence', 'to_device', 'device_lists', 'push_rules'] as const;

export type StreamName = (typeof STREAMS)[number];

/** A position in every stream. */
export type Positions = Readonly<Record<StreamName, number>>;

const TOKEN = /^s(0|[1-9][0-9]{0,15})((?:_(?:0|[1-9][0-9]{0,15}))*)$/;

/** `next_batch` / `since`. */
export function formatSyncToken(positions: Positions): string {
  return `s${STREAMS.map((name) => positions[name]).join('_')}`;
}

/**
 * Parses a `since` token; 400 M_INVALID_PARAM for anything else. A token from an
 * older Weft with fewer streams reads the missing ones as 0; extra positions
 * (from a newer Weft) are ignored.
 */
export function parseSyncToken(token: string): Positions {
  const known = parsed.get(token);
  if (known) return known;
  const positions = parse(token);
  parsed.set(token, positions);
  if (parsed.size > REMEMBERED_TOKENS) parsed.delete(parsed.keys().next().value!);
  return positions;
}

/** Tokens parsed lately: every client one event wakes comes back with the same token. */
const parsed = new Map<string, Positions>();
const REMEMBERED_TOKENS = 1000;

function parse(token: string): Positions {
  const match = TOKEN.exec(token);
  if (!match) throw invalidParam(`Unknown sync token '${token.slice(0, 64)}'`);
  const numbers = [match[1], ...match[2].split('_').slice(1)].map(Number);
  if (!numbers.every(Number.isSafeInteger)) throw invalidParam('Sync token out of range');
  return Object.freeze(Object.fromEntries(STREAMS.map((name, i) => [name, numbers[i] ?? 0]))) as Positions;
}

export function samePositions(a: Positions, b: Positions): boolean {
  return STREAMS.every((name) => a[name] === b[name]);
}

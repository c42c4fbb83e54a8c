/**
 * The redaction algorithms of the room versions (rooms/ fragments
 * v1-redactions, v6-redactions, v9-redactions, v11-redactions, and rooms/v8.md):
 * which top-level keys of an event survive, and which keys of its content
 * survive for each event type.
 */
import type { Pdu } from './pdu';
import type { RoomVersion } from './room-versions';

/** The event an m.room.redaction redacts: top-level `redacts` before room version 11, `content.redacts` from 11. */
export function redactedEventId(pdu: Pdu, version: RoomVersion): string | undefined {
  if (pdu.type !== 'm.room.redaction') return undefined;
  const modern = version.eventFormat === 'v11' || version.eventFormat === 'v12';
  const target = modern ? pdu.content.redacts : pdu.redacts;
  return typeof target === 'string' ? target : undefined;
}

/** Keys of an object that survive: `true` keeps the value whole; a nested rule keeps part of an object value (and drops any other value). */
interface KeepRule {
  readonly [key: string]: true | KeepRule;
}

/** m.room.create from v11 keeps its whole content. */
type ContentRule = KeepRule | 'all';

interface RedactionAlgorithm {
  /** Top-level keys kept besides `content`, which is always present (emptied unless the type's rule keeps some of it). */
  readonly topLevel: readonly string[];
  readonly content: ReadonlyMap<string, ContentRule>;
}

const keep = (...keys: string[]): KeepRule => Object.fromEntries(keys.map((key) => [key, true]));

const V1_TOP_LEVEL = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'hashes', 'signatures', 'depth',
  'prev_events', 'prev_state', 'auth_events', 'origin', 'origin_server_ts', 'membership',
];
/** v11: `origin`, `membership` and `prev_state` are no longer protected. */
const V11_TOP_LEVEL = V1_TOP_LEVEL.filter((key) => key !== 'prev_state' && key !== 'origin' && key !== 'membership');

const V1_POWER_LEVELS = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

const V6_CONTENT: Record<string, ContentRule> = {
  'm.room.member': keep('membership'),
  'm.room.create': keep('creator'),
  'm.room.join_rules': keep('join_rule'),
  'm.room.power_levels': keep(...V1_POWER_LEVELS),
  'm.room.history_visibility': keep('history_visibility'),
};
/** v6 dropped m.room.aliases from the list. */
const V1_CONTENT: Record<string, ContentRule> = { ...V6_CONTENT, 'm.room.aliases': keep('aliases') };
const V8_CONTENT: Record<string, ContentRule> = { ...V6_CONTENT, 'm.room.join_rules': keep('join_rule', 'allow') };
const V9_CONTENT: Record<string, ContentRule> = {
  ...V8_CONTENT,
  'm.room.member': keep('membership', 'join_authorised_via_users_server'),
};
const V11_CONTENT: Record<string, ContentRule> = {
  ...V9_CONTENT,
  'm.room.member': { ...keep('membership', 'join_authorised_via_users_server'), third_party_invite: keep('signed') },
  'm.room.create': 'all',
  'm.room.power_levels': keep(...V1_POWER_LEVELS, 'invite'),
  'm.room.redaction': keep('redacts'),
};

const algorithm = (topLevel: readonly string[], content: Record<string, ContentRule>): RedactionAlgorithm => ({
  topLevel,
  content: new Map(Object.entries(content)),
});

const ALGORITHMS: Record<RoomVersion['redaction'], RedactionAlgorithm> = {
  v1: algorithm(V1_TOP_LEVEL, V1_CONTENT),
  v6: algorithm(V1_TOP_LEVEL, V6_CONTENT),
  v8: algorithm(V1_TOP_LEVEL, V8_CONTENT),
  v9: algorithm(V1_TOP_LEVEL, V9_CONTENT),
  v11: algorithm(V11_TOP_LEVEL, V11_CONTENT),
};

/** The redacted form of `pdu` under the room version's algorithm: a deep copy sharing nothing with `pdu`. */
export function redact(pdu: Pdu, version: RoomVersion): Pdu {
  return cloneJson(redactedView(pdu, version)) as Pdu;
}

/**
 * The redacted form of `event` without copying what it keeps: the result's
 * nested values are `event`'s own, so read it (to hash or sign) and never
 * mutate it. Works on unfinished events too (no hashes or signatures yet).
 */
export function redactedView(event: object, version: RoomVersion): Record<string, unknown> {
  const source = event as Record<string, unknown>;
  const { topLevel, content } = ALGORITHMS[version.redaction];
  const out: Record<string, unknown> = {};
  for (const key of topLevel) {
    if (Object.hasOwn(source, key) && source[key] !== undefined) out[key] = source[key];
  }
  const rule = typeof source.type === 'string' ? content.get(source.type) : undefined;
  out.content = rule === undefined ? {} : keepKeys(source.content, rule);
  return out;
}

function keepKeys(value: unknown, rule: ContentRule): Record<string, unknown> {
  if (!isJsonObject(value)) return {};
  if (rule === 'all') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(rule)) {
    if (!Object.hasOwn(value, key) || value[key] === undefined) continue;
    const nested = rule[key];
    if (nested === true) out[key] = value[key];
    else if (isJsonObject(value[key])) out[key] = keepKeys(value[key], nested);
  }
  return out;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cloneJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson);
  // fromEntries defines own properties, so a `__proto__` key stays a key.
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cloneJson(item)]));
}

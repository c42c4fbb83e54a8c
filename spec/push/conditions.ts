/**
 * Push rule conditions (modules/push.md, "Conditions"). All conditions of a
 * rule must hold; an unrecognised kind never holds.
 */
import { missingParam } from '../errors';
import { globMatches, globMatchesWords } from './glob';
import { propertyAt } from './property-path';
import type { PushCondition } from './rules';

/** What conditions read besides the event, for one user. */
export interface ConditionContext {
  /** The number of joined members of the room. */
  memberCount: number;
  /** The user's display name in the room, if they have one. */
  displayName(): string | undefined;
  /** The sender's power level in the room. */
  senderPowerLevel: number;
  /** The level `notifications[key]` of the room's power levels asks of a sender. */
  notificationLevel(key: string): number;
}

/** The event fields rules look at: type, sender, room_id, state_key, content... */
export type PushEvent = Record<string, unknown>;

/** A non-compound canonical JSON value: string, integer within ±(2^53-1), boolean or null. */
function isScalar(value: unknown): value is string | number | boolean | null {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || Number.isSafeInteger(value);
}

const MEMBER_COUNT = /^(==|<=|>=|<|>)?([0-9]+)$/;

function memberCountMatches(is: unknown, count: number): boolean {
  if (typeof is !== 'string') return false;
  const match = MEMBER_COUNT.exec(is);
  if (!match) return false;
  const n = Number(match[2]);
  switch (match[1] ?? '==') {
    case '==':
      return count === n;
    case '<':
      return count < n;
    case '>':
      return count > n;
    case '<=':
      return count <= n;
    default:
      return count >= n;
  }
}

function eventMatches(event: PushEvent, key: unknown, pattern: unknown): boolean {
  if (typeof key !== 'string' || typeof pattern !== 'string') return false;
  const value = propertyAt(event, key);
  if (typeof value !== 'string') return false;
  return key === 'content.body' ? globMatchesWords(pattern, value) : globMatches(pattern, value);
}

/** Whether `content.body` contains `name` between word boundaries (the deprecated contains_display_name). */
function bodyContainsName(event: PushEvent, name: string | undefined): boolean {
  const body = propertyAt(event, 'content.body');
  if (typeof body !== 'string' || !name) return false;
  const escaped = name.replace(/[\^$\\.*+?()[\]{}|/]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9_])${escaped}(?![A-Za-z0-9_])`, 'iu').test(body);
}

export function conditionHolds(condition: PushCondition, event: PushEvent, ctx: ConditionContext): boolean {
  switch (condition.kind) {
    case 'event_match':
      return eventMatches(event, condition.key, condition.pattern);
    case 'event_property_is': {
      if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
      const value = propertyAt(event, condition.key);
      return isScalar(value) && value === condition.value;
    }
    case 'event_property_contains': {
      if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
      const value = propertyAt(event, condition.key);
      return Array.isArray(value) && value.some((item) => isScalar(item) && item === condition.value);
    }
    case 'contains_display_name':
      return bodyContainsName(event, ctx.displayName());
    case 'room_member_count':
      return memberCountMatches(condition.is, ctx.memberCount);
    case 'sender_notification_permission':
      return typeof condition.key === 'string' && ctx.senderPowerLevel >= ctx.notificationLevel(condition.key);
    default:
      return false;
  }
}

/** The parameters each known condition kind needs. */
const REQUIRED = new Map<string, readonly string[]>([
  ['event_match', ['key', 'pattern']],
  ['event_property_is', ['key', 'value']],
  ['event_property_contains', ['key', 'value']],
  ['contains_display_name', []],
  ['room_member_count', ['is']],
  ['sender_notification_permission', ['key']],
]);

/** Refuses (400 M_MISSING_PARAM) a condition of a known kind without its parameters; unknown kinds are kept (they never match). */
export function checkConditions(conditions: readonly PushCondition[]): void {
  conditions.forEach((condition, i) => {
    for (const param of REQUIRED.get(condition.kind) ?? []) {
      if (!(param in condition)) throw missingParam(`Missing '${param}' in conditions.${i} (${condition.kind})`);
    }
  });
}

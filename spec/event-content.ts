/**
 * Content checks for the state event types the auth rules read, per their
 * schemas (data/event-schemas): what the client API refuses with 400
 * M_BAD_JSON before building an event. Stricter than the auth rules, which
 * must keep accepting what older servers sent: a new power level is always an
 * integer, never a string ("Definitions" in server-server-api.md).
 */
import { badJson } from './errors';
import { isValidRoomId, parseUserId } from './identifiers';
import { isJsonObject, NAMED_LEVELS } from './power-levels';
import type { RoomVersion } from './room-versions';

const MEMBERSHIPS: ReadonlySet<unknown> = new Set(['invite', 'join', 'knock', 'leave', 'ban']);
const JOIN_RULES: ReadonlySet<unknown> = new Set(['public', 'knock', 'invite', 'private', 'restricted', 'knock_restricted']);

type ContentCheck = (content: Record<string, unknown>, version: RoomVersion) => void;

const CHECKS: Readonly<Record<string, ContentCheck>> = {
  'm.room.member': checkMember,
  'm.room.join_rules': checkJoinRules,
  'm.room.power_levels': checkPowerLevels,
  'm.room.create': checkCreate,
  'm.room.third_party_invite': checkThirdPartyInvite,
};

/** Throws M_BAD_JSON if `content` is not valid for a known auth-relevant state event type; other types pass. */
export function checkKnownContent(type: string, content: Record<string, unknown>, version: RoomVersion): void {
  if (Object.hasOwn(CHECKS, type)) CHECKS[type](content, version);
}

const has = (object: Record<string, unknown>, key: string): boolean => Object.hasOwn(object, key);
const isUserId = (value: unknown): boolean => typeof value === 'string' && parseUserId(value) !== null;
const isLevel = (value: unknown): boolean => Number.isSafeInteger(value);

function optional(content: Record<string, unknown>, key: string, valid: (value: unknown) => boolean, what: string): void {
  if (has(content, key) && !valid(content[key])) throw badJson(`'${key}' must be ${what}`);
}

function checkMember(content: Record<string, unknown>): void {
  if (!MEMBERSHIPS.has(content.membership)) {
    throw badJson(`'membership' must be one of ${[...MEMBERSHIPS].join(', ')}`);
  }
  optional(content, 'join_authorised_via_users_server', isUserId, 'a user ID');
  optional(content, 'third_party_invite', isThirdPartyInviteBlock, 'an object with display_name and signed {mxid, token, signatures}');
}

function isThirdPartyInviteBlock(value: unknown): boolean {
  if (!isJsonObject(value) || typeof value.display_name !== 'string') return false;
  const signed = value.signed;
  return (
    isJsonObject(signed) &&
    isUserId(signed.mxid) &&
    typeof signed.token === 'string' &&
    isJsonObject(signed.signatures) &&
    Object.values(signed.signatures).every(isJsonObject)
  );
}

function checkJoinRules(content: Record<string, unknown>): void {
  if (!JOIN_RULES.has(content.join_rule)) throw badJson(`'join_rule' must be one of ${[...JOIN_RULES].join(', ')}`);
  optional(content, 'allow', (allow) => Array.isArray(allow) && allow.every(isAllowCondition), 'an array of allow conditions');
}

function isAllowCondition(condition: unknown): boolean {
  if (!isJsonObject(condition) || typeof condition.type !== 'string') return false;
  return condition.type !== 'm.room_membership' || (typeof condition.room_id === 'string' && isValidRoomId(condition.room_id));
}

function checkPowerLevels(content: Record<string, unknown>): void {
  for (const name of NAMED_LEVELS) optional(content, name, isLevel, 'an integer');
  const isLevelMap = (map: unknown) => isJsonObject(map) && Object.values(map).every(isLevel);
  optional(content, 'events', isLevelMap, 'an object of integers');
  optional(content, 'notifications', isLevelMap, 'an object of integers');
  optional(
    content,
    'users',
    (users) => isLevelMap(users) && Object.keys(users as object).every(isUserId),
    'an object mapping user IDs to integers',
  );
}

function checkCreate(content: Record<string, unknown>, version: RoomVersion): void {
  optional(content, 'creator', isUserId, 'a user ID');
  optional(content, 'room_version', (v) => typeof v === 'string', 'a string');
  optional(content, 'm.federate', (v) => typeof v === 'boolean', 'a boolean');
  optional(content, 'type', (v) => typeof v === 'string', 'a string');
  optional(
    content,
    'predecessor',
    (p) => isJsonObject(p) && typeof p.room_id === 'string' && isValidRoomId(p.room_id) && (!has(p, 'event_id') || typeof p.event_id === 'string'),
    'an object with a room_id',
  );
  if (version.privilegedCreators) {
    optional(content, 'additional_creators', (a) => Array.isArray(a) && a.every(isUserId), 'an array of user IDs');
  }
}

function checkThirdPartyInvite(content: Record<string, unknown>): void {
  for (const key of ['display_name', 'key_validity_url', 'public_key']) optional(content, key, (v) => typeof v === 'string', 'a string');
  optional(
    content,
    'public_keys',
    (keys) => Array.isArray(keys) && keys.every((k) => isJsonObject(k) && typeof k.public_key === 'string'),
    'an array of {public_key}',
  );
}

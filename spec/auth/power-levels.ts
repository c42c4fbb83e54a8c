/**
 * Auth rule for m.room.power_levels: the content must be well formed for the
 * room version, and no one may grant, take away or set a level above their own.
 */
import { parseUserId } from '../identifiers';
import { isJsonObject, NAMED_LEVELS, ownValue, powerLevelValue } from '../power-levels';
import type { RoomVersion } from '../room-versions';
import { type AuthContext, deny } from './context';

const RULE = 'm.room.power_levels';
const NO_ENTRIES: Record<string, unknown> = {};

export function authorizePowerLevels(ctx: AuthContext): void {
  const { content } = ctx.pdu;
  const { version } = ctx;
  if (version.integerPowerLevels) {
    for (const name of NAMED_LEVELS) {
      if (Object.hasOwn(content, name) && powerLevelValue(content[name], version) === undefined) {
        deny(RULE, `${name} is not an integer`);
      }
    }
    for (const name of ['events', 'notifications']) {
      if (Object.hasOwn(content, name) && !isLevelMap(content[name], version)) {
        deny(RULE, `${name} is not an object of integers`);
      }
    }
  }
  const users = ownValue(content, 'users');
  if (Object.hasOwn(content, 'users')) {
    if (!isJsonObject(users)) deny(RULE, 'users is not an object');
    for (const [userId, level] of Object.entries(users)) {
      if (parseUserId(userId) === null) deny(RULE, `users has a key that is not a user ID: ${JSON.stringify(userId)}`);
      if (powerLevelValue(level, version) === undefined) deny(RULE, `users[${userId}] is not an integer`);
    }
    if (version.privilegedCreators) {
      for (const creator of ctx.levels.creators) {
        if (Object.hasOwn(users, creator)) deny(RULE, `users names the room creator ${creator}`);
      }
    }
  }

  const previous = ctx.levels.content;
  if (previous === undefined) return;
  const senderLevel = ctx.userLevel(ctx.sender);

  for (const name of NAMED_LEVELS) {
    const before = powerLevelValue(ownValue(previous, name), version);
    const after = powerLevelValue(ownValue(content, name), version);
    if (before === after) continue;
    if ((before !== undefined && before > senderLevel) || (after !== undefined && after > senderLevel)) {
      deny(RULE, `the sender may not change ${name} from ${before} to ${after}`);
    }
  }

  const limitedMaps = version.notificationsAuthRule ? ['events', 'notifications'] : ['events'];
  for (const name of limitedMaps) {
    forEachChange(previous[name], content[name], version, (key, before, after) => {
      if ((before !== undefined && before > senderLevel) || (after !== undefined && after > senderLevel)) {
        deny(RULE, `the sender may not change ${name}[${key}] from ${before} to ${after}`);
      }
    });
  }

  forEachChange(previous.users, users, version, (userId, before, after) => {
    if (before !== undefined && userId !== ctx.sender && before >= senderLevel) {
      deny(RULE, `the sender may not change the level of ${userId}, at ${before}`);
    }
    if (after !== undefined && after > senderLevel) {
      deny(RULE, `the sender may not raise ${userId} to ${after}, above their own level`);
    }
  });
}

function isLevelMap(value: unknown, version: RoomVersion): boolean {
  return isJsonObject(value) && Object.values(value).every((level) => powerLevelValue(level, version) !== undefined);
}

/**
 * Calls `visit` for every key of two level maps whose level differs, with the
 * level before and after (undefined where absent or not a level).
 */
function forEachChange(
  beforeMap: unknown,
  afterMap: unknown,
  version: RoomVersion,
  visit: (key: string, before: number | undefined, after: number | undefined) => void,
): void {
  const before = isJsonObject(beforeMap) ? beforeMap : NO_ENTRIES;
  const after = isJsonObject(afterMap) ? afterMap : NO_ENTRIES;
  for (const key of Object.keys(before)) {
    const old = powerLevelValue(before[key], version);
    const now = Object.hasOwn(after, key) ? powerLevelValue(after[key], version) : undefined;
    if (old !== now) visit(key, old, now);
  }
  for (const key of Object.keys(after)) {
    if (Object.hasOwn(before, key)) continue;
    const now = powerLevelValue(after[key], version);
    if (now !== undefined) visit(key, undefined, now);
  }
}

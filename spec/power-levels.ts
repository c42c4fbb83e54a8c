/**
 * Power levels: the m.room.power_levels event read with the spec's defaults
 * (its schema in data/event-schemas; "Definitions" in server-server-api.md),
 * the value formats each room version accepts (rooms/fragments/
 * v1-stringy-power-levels.md, v1-floaty-power-levels.md; rooms/v10.md), and
 * room creators (rooms/v12.md: infinite power).
 */
import { stateTuple, type Pdu, type StateEvents } from './pdu';
import type { RoomVersion } from './room-versions';

export const CREATE_TUPLE = stateTuple('m.room.create', '');
export const POWER_LEVELS_TUPLE = stateTuple('m.room.power_levels', '');

/** The top-level integer properties of m.room.power_levels and their defaults. */
export const LEVEL_DEFAULTS = {
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
} as const;
export type NamedLevel = keyof typeof LEVEL_DEFAULTS;
export const NAMED_LEVELS = Object.keys(LEVEL_DEFAULTS) as readonly NamedLevel[];

/** Rooms v1-v11 with no m.room.power_levels event: the creator's level. */
export const CREATOR_LEVEL_WITHOUT_POWER_LEVELS = 100;
/** `notifications.room` when unspecified. */
export const ROOM_NOTIFICATION_DEFAULT = 50;

const STRINGY_INTEGER = /^\s*[+-]?\d+\s*$/;

/**
 * A power level value as `version` reads it, or undefined if it is not one:
 * an integer in every version; in v1-v9 also a string holding an integer
 * (optional sign, leading zeroes, surrounding whitespace); in v1-v5 also a
 * float, truncated at the decimal point.
 */
export function powerLevelValue(value: unknown, version: RoomVersion): number | undefined {
  if (typeof value === 'number') {
    if (version.strictCanonicalJson) return Number.isSafeInteger(value) ? value : undefined;
    return Number.isFinite(value) ? Math.trunc(value) + 0 : undefined;
  }
  if (typeof value === 'string' && !version.integerPowerLevels && STRINGY_INTEGER.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n + 0 : undefined;
  }
  return undefined;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `object[key]` if `object` is a JSON object that has that key as its own. */
export function ownValue(object: unknown, key: string): unknown {
  return isJsonObject(object) && Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Rooms v1-v10 name the creator in m.room.create's `content.creator`; v11+ take the create event's sender. */
export function creatorInCreateContent(version: RoomVersion): boolean {
  return version.eventFormat === 'v1' || version.eventFormat === 'v3';
}

/**
 * The room's creator, whose first join skips the join rules: the create
 * event's `content.creator` before room version 11, its sender after.
 */
export function createEventCreator(create: Pdu | undefined, version: RoomVersion): string | undefined {
  if (!create) return undefined;
  if (creatorInCreateContent(version)) {
    const creator = create.content.creator;
    return typeof creator === 'string' ? creator : undefined;
  }
  return create.sender;
}

/** Room creators: the creator above, plus `additional_creators` in room version 12. */
export function roomCreators(create: Pdu | undefined, version: RoomVersion): ReadonlySet<string> {
  const creators = new Set<string>();
  const creator = createEventCreator(create, version);
  if (creator !== undefined) creators.add(creator);
  if (version.privilegedCreators && create) {
    const additional = create.content.additional_creators;
    if (Array.isArray(additional)) for (const id of additional) if (typeof id === 'string') creators.add(id);
  }
  return creators;
}

/**
 * The power levels in force in a room state. Reads the event content on
 * demand, so building one costs nothing however many users it lists.
 */
export class PowerLevels {
  constructor(
    /** The m.room.power_levels content; undefined when the room has none. */
    readonly content: Record<string, unknown> | undefined,
    readonly creators: ReadonlySet<string>,
    readonly version: RoomVersion,
  ) {}

  static fromState(state: StateEvents, version: RoomVersion): PowerLevels {
    return new PowerLevels(
      state.get(POWER_LEVELS_TUPLE)?.pdu.content,
      roomCreators(state.get(CREATE_TUPLE)?.pdu, version),
      version,
    );
  }

  /** A top-level level (`ban`, `state_default`, …), its default if absent or malformed. */
  named(name: NamedLevel): number {
    return powerLevelValue(ownValue(this.content, name), this.version) ?? LEVEL_DEFAULTS[name];
  }

  /** The user's level: infinite for v12 creators; `users`, else `users_default`; 100 for the creator of an older room without power levels. */
  user(userId: string): number {
    if (this.version.privilegedCreators && this.creators.has(userId)) return Infinity;
    if (this.content === undefined) {
      return this.creators.has(userId) ? CREATOR_LEVEL_WITHOUT_POWER_LEVELS : LEVEL_DEFAULTS.users_default;
    }
    return powerLevelValue(ownValue(this.content.users, userId), this.version) ?? this.named('users_default');
  }

  /** The level needed to send an event of this type: `events`, else `state_default` or `events_default`. */
  required(eventType: string, isState: boolean): number {
    return (
      powerLevelValue(ownValue(this.content?.events, eventType), this.version) ??
      this.named(isState ? 'state_default' : 'events_default')
    );
  }

  /** The level needed to trigger a notification of this key (`room` defaults to 50), undefined if unset. */
  notification(key: string): number | undefined {
    const level = powerLevelValue(ownValue(this.content?.notifications, key), this.version);
    return level ?? (key === 'room' ? ROOM_NOTIFICATION_DEFAULT : undefined);
  }
}

export function userPowerLevel(userId: string, state: StateEvents, version: RoomVersion): number {
  return PowerLevels.fromState(state, version).user(userId);
}

export function requiredPowerLevel(eventType: string, isState: boolean, state: StateEvents, version: RoomVersion): number {
  return PowerLevels.fromState(state, version).required(eventType, isState);
}

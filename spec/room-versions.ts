/**
 * Room versions 1-12 (rooms/ in the spec): for each, which variant of every
 * algorithm it uses. Code that differs between versions asks this table, never
 * compares version strings.
 */

export type RoomVersionStability = 'stable' | 'unstable';

export interface RoomVersion {
  readonly id: string;
  /** 'v1': event_id is a field, prev/auth events are [id, hashes] pairs (v1-v2). 'v3': IDs are reference hashes in standard base64. 'v4': URL-safe base64 (v4+). */
  readonly eventIdFormat: 'v1' | 'v3' | 'v4';
  /** 'v11': no `creator` in m.room.create content; `redacts` moves into content (v11+). 'v12': the create event has no room_id; the room ID is derived from it. */
  readonly eventFormat: 'v1' | 'v3' | 'v11' | 'v12';
  /** Which redaction algorithm: fragments v1-redactions, v6-redactions, v9-redactions, v11-redactions; 'v8' is v6 plus m.room.join_rules `allow` (rooms/v8.md, written out there rather than in a fragment). */
  readonly redaction: 'v1' | 'v6' | 'v8' | 'v9' | 'v11';
  /** Which authorisation rules: v1 (v1-v2), v3 (v3-v5), v6, v7 (knocking), v8 (restricted joins, v8-v9), v10, v11, v12. */
  readonly authRules: 'v1' | 'v3' | 'v6' | 'v7' | 'v8' | 'v10' | 'v11' | 'v12';
  /** State resolution: v1 (room v1), v2 (v2-v11), v2.1 (v12's changes to v2). */
  readonly stateResolution: 'v1' | 'v2' | 'v2.1';
  /** v6+: canonical JSON rejects floats and integers outside [-(2^53)+1, 2^53-1]. */
  readonly strictCanonicalJson: boolean;
  /** v5+: signatures must be made with a key valid at the event's origin_server_ts. */
  readonly enforceKeyValidity: boolean;
  /** v7+ */
  readonly knocking: boolean;
  /** v8+ */
  readonly restrictedJoins: boolean;
  /** v10+ */
  readonly knockRestricted: boolean;
  /** v10+: power levels must be integers, not strings. */
  readonly integerPowerLevels: boolean;
  /** v12: creators (sender + additional_creators) have infinite power and are absent from m.room.power_levels. */
  readonly privilegedCreators: boolean;
  /** v1-v5: m.room.aliases is allowed iff its state_key is the sender's domain, whatever the sender's membership. */
  readonly aliasesAuthRule: boolean;
  /** v1-v2: the auth rules allow m.room.redaction only at the redact level or from the redacted event ID's domain. */
  readonly redactionAuthRule: boolean;
  /** v6+: changes to m.room.power_levels `notifications` are limited like changes to `events`. */
  readonly notificationsAuthRule: boolean;
}

const v1: RoomVersion = {
  id: '1',
  eventIdFormat: 'v1',
  eventFormat: 'v1',
  redaction: 'v1',
  authRules: 'v1',
  stateResolution: 'v1',
  strictCanonicalJson: false,
  enforceKeyValidity: false,
  knocking: false,
  restrictedJoins: false,
  knockRestricted: false,
  integerPowerLevels: false,
  privilegedCreators: false,
  aliasesAuthRule: true,
  redactionAuthRule: true,
  notificationsAuthRule: false,
};
const v2: RoomVersion = { ...v1, id: '2', stateResolution: 'v2' };
const v3: RoomVersion = { ...v2, id: '3', eventIdFormat: 'v3', eventFormat: 'v3', authRules: 'v3', redactionAuthRule: false };
const v4: RoomVersion = { ...v3, id: '4', eventIdFormat: 'v4' };
const v5: RoomVersion = { ...v4, id: '5', enforceKeyValidity: true };
const v6: RoomVersion = { ...v5, id: '6', redaction: 'v6', authRules: 'v6', strictCanonicalJson: true, aliasesAuthRule: false, notificationsAuthRule: true };
const v7: RoomVersion = { ...v6, id: '7', authRules: 'v7', knocking: true };
const v8: RoomVersion = { ...v7, id: '8', redaction: 'v8', authRules: 'v8', restrictedJoins: true };
const v9: RoomVersion = { ...v8, id: '9', redaction: 'v9' };
const v10: RoomVersion = { ...v9, id: '10', authRules: 'v10', knockRestricted: true, integerPowerLevels: true };
const v11: RoomVersion = { ...v10, id: '11', eventFormat: 'v11', redaction: 'v11', authRules: 'v11' };
const v12: RoomVersion = { ...v11, id: '12', eventFormat: 'v12', authRules: 'v12', stateResolution: 'v2.1', privilegedCreators: true };

const VERSIONS: ReadonlyMap<string, RoomVersion> = new Map(
  [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12].map((v) => [v.id, v]),
);

export const DEFAULT_ROOM_VERSION = '12';

/** What /capabilities advertises. */
export const ROOM_VERSIONS: {
  readonly default: string;
  readonly available: Readonly<Record<string, RoomVersionStability>>;
} = {
  default: DEFAULT_ROOM_VERSION,
  available: Object.fromEntries([...VERSIONS.keys()].map((id) => [id, 'stable' as const])),
};

export function isSupportedRoomVersion(version: string): boolean {
  return VERSIONS.has(version);
}

/** The rules of a supported room version; undefined for an unknown one. */
export function roomVersion(version: string): RoomVersion | undefined {
  return VERSIONS.get(version);
}

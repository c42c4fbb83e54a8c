/** The room versions this server supports (rooms/ in the spec), and the one new rooms get. */

export type RoomVersionStability = 'stable' | 'unstable';

export const ROOM_VERSIONS: {
  readonly default: string;
  readonly available: Readonly<Record<string, RoomVersionStability>>;
} = {
  default: '12',
  available: {
    '1': 'stable',
    '2': 'stable',
    '3': 'stable',
    '4': 'stable',
    '5': 'stable',
    '6': 'stable',
    '7': 'stable',
    '8': 'stable',
    '9': 'stable',
    '10': 'stable',
    '11': 'stable',
    '12': 'stable',
  },
};

export function isSupportedRoomVersion(version: string): boolean {
  return Object.hasOwn(ROOM_VERSIONS.available, version);
}

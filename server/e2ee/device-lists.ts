/**
 * Device list changes (docs/e2ee.md): recording them, waking exactly the syncs
 * they concern, and working out whom a requester must be told about, for
 * /sync's `device_lists` and for GET /keys/changes alike. Other servers' users'
 * changes are recorded here too (federation); listeners hear of local users'
 * public changes, to tell other servers.
 */
import { parseUserId } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { MembershipChange } from '../../storage/memberships';
import { whenSettled } from '../../storage/transactions';
import { roomKey, userKey, type Notifier } from '../sync/notifier';
import type { Positions } from '../sync/token';

export interface DeviceListDelta {
  /** Users whose device lists changed, or who newly share a room with the requester. */
  changed: Set<string>;
  /** Users who no longer share any room with the requester. */
  left: Set<string>;
}

/**
 * The requester's rooms. /sync's room stream also knows which were joined or
 * left in the range and the membership events there; without those they are read.
 */
export interface KnownRooms {
  joined: ReadonlySet<string>;
  newlyJoined?: ReadonlySet<string>;
  newlyLeft?: ReadonlySet<string>;
  membershipChanges?(): Promise<readonly MembershipChange[]>;
}

/** What changed in a user's device list. */
export interface DeviceListChangeScope {
  /** The devices added, deleted, renamed, or whose keys or signatures changed. */
  devices?: readonly string[];
  /** Their master or self-signing key, or the signatures of their master key. */
  crossSigning?: boolean;
}

/** A local user's public device list change, once committed: each device's change has a position of its own. */
export interface LocalDeviceListChange {
  userId: string;
  devices: { deviceId: string; streamId: number }[];
  crossSigning: boolean;
}

export type DeviceListListener = (change: LocalDeviceListChange) => void;

const LEFT: readonly string[] = ['leave', 'ban'];

export class DeviceLists {
  private readonly listeners: DeviceListListener[] = [];

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
    private readonly serverName: string,
  ) {}

  /** Registers a listener of local users' public device list changes. */
  onLocalChange(listener: DeviceListListener): void {
    this.listeners.push(listener);
  }

  /**
   * Records, inside `trx`, that `userId`'s devices or keys changed: one position
   * per device named in `scope` (or one for the whole list). Once it commits,
   * the syncs of everyone in a room with them, and their own, wake.
   */
  async changed(userId: string, trx: Db, scope: DeviceListChangeScope = {}): Promise<void> {
    const rooms = await this.stores.memberships.roomsOf(userId, ['join'], trx);
    const devices: LocalDeviceListChange['devices'] = [];
    for (const deviceId of new Set(scope.devices)) devices.push({ deviceId, streamId: await this.stores.deviceListChanges.record(userId, null, trx) });
    if (devices.length === 0) await this.stores.deviceListChanges.record(userId, null, trx);
    const change: LocalDeviceListChange = { userId, devices, crossSigning: scope.crossSigning ?? false };
    const local = parseUserId(userId)?.serverName === this.serverName;
    whenSettled(trx, () => {
      void this.stores.deviceListChanges.positions.caughtUp().then(() => this.notifier.notify([userKey(userId), ...rooms.map(roomKey)]));
      if (local) for (const listener of this.listeners) listener(change);
    });
  }

  /** Records a change of `userId`'s keys that only `viewer` sees (their own signatures of them). */
  async changedFor(userId: string, viewer: string, trx: Db): Promise<void> {
    await this.stores.deviceListChanges.record(userId, viewer, trx);
    whenSettled(trx, () => void this.stores.deviceListChanges.positions.caughtUp().then(() => this.notifier.notify([userKey(viewer)])));
  }

  /**
   * What `userId` must learn about the range (since, to]: device list changes
   * of users sharing a room with them (and their own), users who newly share a
   * room with them, and users with whom they no longer share any.
   */
  async delta(userId: string, since: Positions, to: Positions, rooms: KnownRooms): Promise<DeviceListDelta> {
    const changed = new Set<string>();
    /** Users who belong in `changed` if they share a room with the requester now. */
    const ifSharing = new Set<string>();
    /** Users who belong in `left` unless they share a room with the requester now. */
    const unlessSharing = new Set<string>();

    if (since.device_lists < to.device_lists) {
      for (const change of await this.stores.deviceListChanges.changesIn(userId, since.device_lists, to.device_lists)) {
        (change.public && change.userId !== userId ? ifSharing : changed).add(change.userId);
      }
    }

    if (since.rooms < to.rooms) {
      const newlyJoined = new Set(rooms.newlyJoined);
      const newlyLeft = new Set(rooms.newlyLeft);
      const memberships = rooms.membershipChanges
        ? await rooms.membershipChanges()
        : await this.stores.memberships.changesIn([...rooms.joined, ...(await this.stores.memberships.roomsOf(userId, LEFT))], since.rooms, to.rooms);
      for (const { roomId, userId: member, membership } of memberships) {
        const joinedNow = rooms.joined.has(roomId);
        if (member === userId) {
          if (membership === 'join' && joinedNow) newlyJoined.add(roomId);
          if (LEFT.includes(membership) && !joinedNow) newlyLeft.add(roomId);
        } else if (joinedNow) {
          if (membership === 'join') ifSharing.add(member);
          if (LEFT.includes(membership)) unlessSharing.add(member);
        }
      }
      for (const roomId of newlyJoined) for (const member of await this.joinedMembers(roomId)) ifSharing.add(member);
      for (const roomId of newlyLeft) for (const member of await this.joinedMembers(roomId)) unlessSharing.add(member);
    }

    ifSharing.delete(userId);
    unlessSharing.delete(userId);
    const sharing = await this.stores.memberships.sharingARoomWith(userId, [...new Set([...ifSharing, ...unlessSharing])]);
    for (const other of ifSharing) if (sharing.has(other)) changed.add(other);
    const left = new Set([...unlessSharing].filter((other) => !sharing.has(other)));
    for (const other of left) changed.delete(other);
    return { changed, left };
  }

  private async joinedMembers(roomId: string): Promise<string[]> {
    return (await this.stores.memberships.members(roomId, { membership: 'join' })).map((m) => m.userId);
  }
}

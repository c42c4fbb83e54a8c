/**
 * What push rule evaluation reads from a room's current state: its joined
 * members (the local ones are evaluated), their display names and the power
 * levels. Derived from the current state group and cached under it, so a
 * message in a room of 1,000 members costs one indexed read here, not 1,000
 * parsed member events; any state change gives a new group and a fresh read.
 */
import { parseUserId } from '../../spec/identifiers';
import { CREATE_TUPLE, POWER_LEVELS_TUPLE, PowerLevels } from '../../spec/power-levels';
import { roomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import { whenSettled } from '../../storage/transactions';
import { WeightedLru } from '../../storage/weighted-lru';

export interface RoomFacts {
  /** The current state group these facts were read at. */
  stateGroup: number | null;
  joinedCount: number;
  /** Joined members of this server. */
  localJoined: string[];
  /** Display names of the joined members that set one. */
  displayNames: Map<string, string>;
  powerLevels: PowerLevels;
}

/** Members kept in memory at most, over every cached room. */
const CACHE_MEMBERS = 500_000;

export class RoomFactsCache {
  private readonly cache = new WeightedLru<string, RoomFacts>(CACHE_MEMBERS, (facts) => 1 + facts.joinedCount);

  constructor(
    private readonly stores: Stores,
    private readonly serverName: string,
  ) {}

  /** The room's facts at its current state, read inside `db` (the event's transaction). */
  async current(roomId: string, db: Db): Promise<RoomFacts> {
    const stateGroup = await this.stores.roomState.currentStateGroup(roomId, db);
    const cached = this.cache.get(roomId);
    if (cached && cached.stateGroup === stateGroup) return cached;
    const facts = await this.read(roomId, stateGroup, db);
    // A state group is only known to be final once its transaction commits.
    whenSettled(db, () => this.cache.set(roomId, facts));
    return facts;
  }

  private async read(roomId: string, stateGroup: number | null, db: Db): Promise<RoomFacts> {
    const members = await this.stores.memberships.members(roomId, { membership: 'join' }, db);
    const displayNames = new Map<string, string>();
    for (const member of members) {
      const name = member.event.pdu.content.displayname;
      if (typeof name === 'string' && name.length > 0) displayNames.set(member.userId, name);
    }
    const room = await this.stores.rooms.get(roomId, db);
    const state = await this.stores.roomState.currentStateEvents(roomId, [CREATE_TUPLE, POWER_LEVELS_TUPLE], db);
    return {
      stateGroup,
      joinedCount: members.length,
      localJoined: members.map((m) => m.userId).filter((id) => parseUserId(id)?.serverName === this.serverName),
      displayNames,
      powerLevels: PowerLevels.fromState(state, roomVersion(room!.version)!),
    };
  }
}

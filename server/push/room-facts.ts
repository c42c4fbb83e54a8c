/**
 * What push rule evaluation reads from a room's current state: its joined
 * members (the local ones are evaluated), their display names and the power
 * levels. Derived from the current state group and cached under it: a message
 * costs one indexed read here, not one parsed member event per member. When the
 * group changes, the new facts are the cached ones plus the difference between
 * the two groups, so a join in a room of 1,000 reads one member event.
 */
import { parseUserId } from '../../spec/identifiers';
import { splitStateTuple } from '../../spec/pdu';
import { CREATE_TUPLE, POWER_LEVELS_TUPLE, PowerLevels } from '../../spec/power-levels';
import { roomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { StateRef } from '../../storage/state-groups';
import { whenSettled } from '../../storage/transactions';
import { WeightedLru } from '../../storage/weighted-lru';

export interface RoomFacts {
  /** The current state group these facts were read at. */
  stateGroup: number | null;
  /** Joined members, with their display names. */
  joined: ReadonlyMap<string, string | undefined>;
  /** Joined members of this server. */
  localJoined: readonly string[];
  powerLevels: PowerLevels;
}

/** Members kept in memory at most, over every cached room. */
const CACHE_MEMBERS = 500_000;
/** Above this many state changes between two groups, the facts are read afresh. */
const MAX_DELTA = 500;

const displayNameOf = (content: Record<string, unknown>) =>
  typeof content.displayname === 'string' && content.displayname.length > 0 ? content.displayname : undefined;

export class RoomFactsCache {
  private readonly cache = new WeightedLru<string, RoomFacts>(CACHE_MEMBERS, (facts) => 1 + facts.joined.size);

  constructor(
    private readonly stores: Stores,
    private readonly serverName: string,
  ) {}

  /** The room's facts at its current state, read inside `db` (the event's transaction). */
  async current(roomId: string, db: Db): Promise<RoomFacts> {
    const stateGroup = await this.stores.roomState.currentStateGroup(roomId, db);
    const cached = this.cache.get(roomId);
    if (cached && cached.stateGroup === stateGroup) return cached;
    const facts =
      cached?.stateGroup != null && stateGroup !== null
        ? await this.advance(roomId, cached, stateGroup, db)
        : await this.read(roomId, stateGroup, db);
    // A state group is only known to be final once its transaction commits.
    whenSettled(db, () => this.cache.set(roomId, facts));
    return facts;
  }

  private async read(roomId: string, stateGroup: number | null, db: Db): Promise<RoomFacts> {
    const members = await this.stores.memberships.members(roomId, { membership: 'join' }, db);
    const joined = new Map(members.map((m) => [m.userId, displayNameOf(m.event.pdu.content)]));
    return this.facts(stateGroup, joined, await this.powerLevels(roomId, db));
  }

  /** The facts at `stateGroup` from those at an earlier group and the state changes between them. */
  private async advance(roomId: string, previous: RoomFacts, stateGroup: number, db: Db): Promise<RoomFacts> {
    const changes = await this.stores.stateGroups.diff(previous.stateGroup!, stateGroup, db);
    if (changes.size > MAX_DELTA) return this.read(roomId, stateGroup, db);
    const memberChanges: [string, StateRef | null][] = [];
    let powerChanged = false;
    for (const [tuple, ref] of changes) {
      const { type, stateKey } = splitStateTuple(tuple);
      if (type === 'm.room.member') memberChanges.push([stateKey, ref]);
      else if (tuple === POWER_LEVELS_TUPLE || tuple === CREATE_TUPLE) powerChanged = true;
    }
    if (memberChanges.length === 0 && !powerChanged) return { ...previous, stateGroup };
    const events = await this.stores.events.get(memberChanges.flatMap(([, ref]) => (ref ? [ref.id] : [])), db);
    const joined = new Map(previous.joined);
    for (const [userId, ref] of memberChanges) {
      const content = ref ? events.get(ref.id)?.event.pdu.content : undefined;
      if (content?.membership === 'join') joined.set(userId, displayNameOf(content));
      else joined.delete(userId);
    }
    return this.facts(stateGroup, joined, powerChanged ? await this.powerLevels(roomId, db) : previous.powerLevels);
  }

  private facts(stateGroup: number | null, joined: Map<string, string | undefined>, powerLevels: PowerLevels): RoomFacts {
    const localJoined = [...joined.keys()].filter((id) => parseUserId(id)?.serverName === this.serverName);
    return { stateGroup, joined, localJoined, powerLevels };
  }

  private async powerLevels(roomId: string, db: Db): Promise<PowerLevels> {
    const room = await this.stores.rooms.get(roomId, db);
    const state = await this.stores.roomState.currentStateEvents(roomId, [CREATE_TUPLE, POWER_LEVELS_TUPLE], db);
    return PowerLevels.fromState(state, roomVersion(room!.version)!);
  }
}

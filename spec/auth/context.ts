/** What the authorisation rules read about an event and the state it is checked against. */
import { AuthError, stateTuple, type Pdu, type RoomEvent, type StateEvents } from '../pdu';
import { ownValue, POWER_LEVELS_TUPLE, PowerLevels, roomCreators } from '../power-levels';
import type { RoomVersion } from '../room-versions';

export const JOIN_RULES_TUPLE = stateTuple('m.room.join_rules', '');

/** Refuses the event: throws the AuthError naming the rule it failed. */
export function deny(rule: string, reason: string): never {
  throw new AuthError(`${rule}: ${reason}`);
}

/** The server name of a user, room (pre-v12) or event (v1-v2) ID: everything after the first colon. */
export function serverNameOf(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const colon = id.indexOf(':');
  return colon < 0 ? undefined : id.slice(colon + 1);
}

export class AuthContext {
  readonly pdu: Pdu;
  readonly sender: string;
  readonly levels: PowerLevels;

  constructor(
    readonly event: RoomEvent,
    readonly state: StateEvents,
    readonly version: RoomVersion,
    readonly create: RoomEvent,
  ) {
    this.pdu = event.pdu;
    this.sender = event.pdu.sender;
    this.levels = new PowerLevels(state.get(POWER_LEVELS_TUPLE)?.pdu.content, roomCreators(create.pdu, version), version);
  }

  /** The user's current `membership` (undefined if they have no member event). */
  membership(userId: string): unknown {
    return ownValue(this.state.get(stateTuple('m.room.member', userId))?.pdu.content, 'membership');
  }

  /** `join_rule` of the current m.room.join_rules, `invite` when there is none or it sets none. */
  joinRule(): unknown {
    const content = this.state.get(JOIN_RULES_TUPLE)?.pdu.content;
    return content && Object.hasOwn(content, 'join_rule') ? content.join_rule : 'invite';
  }

  userLevel(userId: string): number {
    return this.levels.user(userId);
  }
}

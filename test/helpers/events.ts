/**
 * Unsigned test PDUs and a room state to build them on, for exercising the
 * auth rules without hashing or signing. Event IDs are made up but have the
 * shape of the room version's IDs (`$n:server` in v1-v2, opaque after).
 */
import assert from 'node:assert/strict';
import { authEventsSelection } from '../../spec/auth-events';
import { authorize } from '../../spec/auth-rules';
import { AuthError, stateTuple, type EventReference, type Pdu, type RoomEvent, type StateEvents } from '../../spec/pdu';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';

export interface EventSpec {
  type: string;
  sender: string;
  state_key?: string;
  content?: Record<string, unknown>;
  /** Defaults to the room's latest event. */
  prev_events?: string[];
  /** Defaults to what auth events selection picks from the room's state. */
  auth_events?: string[];
  /** Extra top-level PDU keys (redacts, signatures, room_id, …); undefined removes one. */
  pdu?: Partial<Pdu>;
}

let counter = 0;

export function version(id: string): RoomVersion {
  const v = roomVersion(id);
  if (!v) throw new Error(`no room version ${id}`);
  return v;
}

export const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/** Builds a PDU of `v` for `spec` with a fresh event ID. */
export function buildEvent(v: RoomVersion, roomId: string | undefined, spec: EventSpec, prevEvents: string[], authEvents: string[]): RoomEvent {
  counter += 1;
  const server = serverOf(spec.sender);
  const id = v.eventIdFormat === 'v1' ? `$e${counter}:${server}` : `$TestEvent${counter}_${Math.random().toString(36).slice(2, 10)}`;
  const ref = (eventId: string): EventReference => (v.eventIdFormat === 'v1' ? [eventId, { sha256: 'aGFzaA' }] : eventId);
  const pdu: Pdu = {
    ...(v.eventIdFormat === 'v1' ? { event_id: id } : {}),
    ...(roomId === undefined ? {} : { room_id: roomId }),
    sender: spec.sender,
    origin_server_ts: 1_700_000_000_000 + counter,
    type: spec.type,
    ...(spec.state_key === undefined ? {} : { state_key: spec.state_key }),
    content: spec.content ?? {},
    prev_events: prevEvents.map(ref),
    auth_events: authEvents.map(ref),
    depth: counter,
    hashes: { sha256: 'aGFzaA' },
    signatures: { [server]: { 'ed25519:test': 'c2lnbmF0dXJl' } },
  };
  for (const [key, value] of Object.entries(spec.pdu ?? {})) {
    if (value === undefined) delete pdu[key];
    else pdu[key] = value;
  }
  return { id, pdu };
}

/**
 * A room as a linear chain of events and the state after the last one.
 * `send` authorises against the current state and applies; `check` only
 * authorises; `build` does neither; `force` applies without authorising.
 */
export class TestRoom {
  readonly state: StateEvents = new Map();
  readonly create: RoomEvent;
  readonly roomId: string;
  private latest: string[] = [];

  constructor(
    readonly version: RoomVersion,
    readonly creator: string,
    createContent: Record<string, unknown> = {},
  ) {
    const content = { room_version: version.id, ...(usesCreatorField(version) ? { creator } : {}), ...createContent };
    const implied = version.eventFormat === 'v12';
    const preRoomId = implied ? undefined : `!room${counter + 1}:${serverOf(creator)}`;
    this.create = buildEvent(version, preRoomId, { type: 'm.room.create', sender: creator, state_key: '', content }, [], []);
    this.roomId = implied ? `!${this.create.id.slice(1)}` : preRoomId!;
    authorize(this.create, this.state, version);
    this.apply(this.create);
  }

  /** create, the creator's join, power levels (creator 100 before v12) and a join rule: the usual start of a room. */
  static standard(versionId: string, creator = '@alice:a.test', joinRule = 'public', powerLevels: Record<string, unknown> = {}): TestRoom {
    const room = new TestRoom(version(versionId), creator);
    room.join(creator);
    const users = room.version.privilegedCreators ? {} : { [creator]: 100 };
    room.send({ type: 'm.room.power_levels', sender: creator, state_key: '', content: { users, ...powerLevels } });
    room.send({ type: 'm.room.join_rules', sender: creator, state_key: '', content: { join_rule: joinRule } });
    return room;
  }

  build(spec: EventSpec): RoomEvent {
    const authEvents =
      spec.auth_events ??
      authEventsSelection({ content: {}, ...spec }, this.version)
        .map((tuple) => this.state.get(tuple)?.id)
        .filter((id): id is string => id !== undefined);
    return buildEvent(this.version, this.roomId, spec, spec.prev_events ?? this.latest, authEvents);
  }

  /** Authorises `spec` against the current state; throws AuthError if refused. Returns the event. */
  check(spec: EventSpec): RoomEvent {
    const event = this.build(spec);
    authorize(event, this.state, this.version);
    return event;
  }

  send(spec: EventSpec): RoomEvent {
    return this.apply(this.check(spec));
  }

  force(spec: EventSpec): RoomEvent {
    return this.apply(this.build(spec));
  }

  apply(event: RoomEvent): RoomEvent {
    if (event.pdu.state_key !== undefined) this.state.set(stateTuple(event.pdu.type, event.pdu.state_key), event);
    this.latest = [event.id];
    return event;
  }

  member(sender: string, membership: string, target = sender, content: Record<string, unknown> = {}): EventSpec {
    return { type: 'm.room.member', sender, state_key: target, content: { membership, ...content } };
  }

  join(user: string, content: Record<string, unknown> = {}): RoomEvent {
    return this.send(this.member(user, 'join', user, content));
  }

  /** Sets a member's membership without checking the rules (e.g. to set up a ban or invite). */
  forceMembership(user: string, membership: string, sender = user): RoomEvent {
    return this.force(this.member(sender, membership, user));
  }

  powerLevels(content: Record<string, unknown>, sender = this.creator): RoomEvent {
    return this.send({ type: 'm.room.power_levels', sender, state_key: '', content });
  }
}

function usesCreatorField(v: RoomVersion): boolean {
  return v.eventFormat === 'v1' || v.eventFormat === 'v3';
}

export const ALL_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];

export const ALICE = '@alice:a.test';
export const BOB = '@bob:b.test';
export const CAROL = '@carol:c.test';
export const DAVE = '@dave:a.test';

/** Asserts the rules refuse the event, naming a rule that matches `rule`. */
export function refused(room: TestRoom, spec: EventSpec, rule: RegExp): void {
  assertRefused(() => room.check(spec), rule);
}

export function assertRefused(check: () => unknown, rule: RegExp): void {
  let error: unknown;
  try {
    check();
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error === undefined ? 'no error' : String(error)}`);
  assert.match(error.message, rule);
}

export function allowed(room: TestRoom, spec: EventSpec): void {
  assert.doesNotThrow(() => room.check(spec));
}

/** Sends power levels from the creator giving `users` their levels (the creator keeps 100 before v12). */
export function setLevels(room: TestRoom, users: Record<string, number>, extra: Record<string, unknown> = {}): void {
  const creator = room.version.privilegedCreators ? {} : { [room.creator]: 100 };
  room.powerLevels({ users: { ...creator, ...users }, ...extra });
}


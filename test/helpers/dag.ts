/**
 * Small room DAGs for state resolution tests: unsigned PDUs with chosen IDs,
 * prev/auth edges, the state after each event, and an in-memory EventSource
 * that records what it was asked for. Also a minimal authorisation stub.
 */
import { authorize } from '../../spec/auth-rules';
import {
  stateTuple,
  type Authorize,
  type EventReference,
  type Pdu,
  type RoomEvent,
  type StateEvents,
  type StateMap,
  type StateTuple,
} from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import type { EventSource } from '../../spec/state-resolution';

export const ALICE = '@alice:a.example';
export const BOB = '@bob:b.example';
export const CHARLIE = '@charlie:c.example';
export const EVE = '@eve:e.example';

export interface EventSpec {
  id: string;
  type: string;
  sender: string;
  stateKey?: string;
  content?: Record<string, unknown>;
  /** prev_events; by default the event added last. */
  prev?: string[];
  /** auth_events; by default chosen from the state before the event, as the auth events selection says. */
  auth?: string[];
  /** By default one more than the previous event added. */
  ts?: number;
  /** The state before the event; by default the state after its only prev event. */
  stateBefore?: StateMap;
  /** A rejected event does not change the state after it. */
  rejected?: boolean;
}

export interface Options {
  prev?: string[];
  auth?: string[];
  ts?: number;
  stateBefore?: StateMap;
  rejected?: boolean;
}

/** A recording, in-memory EventSource. */
export interface TestSource extends EventSource {
  /** The ID lists `get` was called with, in order. */
  readonly calls: string[][];
}

interface StateStep {
  /** The only prev event, whose state after is this event's state before. */
  parent?: string;
  /** The state before, when given or when there is no prev event. */
  before?: StateMap;
  /** The key this event sets, unless it is a message or rejected. */
  key?: StateTuple;
  /** The whole state after, kept every so often so walks back stay short. */
  snapshot?: StateMap;
  sinceSnapshot: number;
}

interface StateLookup {
  get(key: StateTuple): string | undefined;
}

const SNAPSHOT_EVERY = 64;

export class Dag {
  readonly events = new Map<string, RoomEvent>();
  readonly rejected = new Set<string>();
  /** How to rebuild the state after each event: its change on top of the state after its prev (or a given state). */
  private readonly steps = new Map<string, StateStep>();
  private last: string | undefined;
  private clock = 1000;
  private roomId = '!room:a.example';

  constructor(readonly version: RoomVersion) {}

  add(spec: EventSpec): RoomEvent {
    if (this.events.has(spec.id)) throw new Error(`duplicate event ${spec.id}`);
    const prev = spec.prev ?? (this.last === undefined ? [] : [this.last]);
    const step = this.stepFor(spec, prev);
    const before: StateLookup = { get: (key) => this.lookupBefore(step, key) };
    const content = spec.content ?? {};
    const isCreate = spec.type === 'm.room.create';
    if (isCreate && this.version.eventFormat === 'v12') this.roomId = `!${spec.id.slice(1)}`;
    const auth = isCreate ? [] : (spec.auth ?? this.selectAuthEvents(spec, before));
    this.clock = spec.ts ?? this.clock + 1;
    const pdu: Pdu = {
      type: spec.type,
      sender: spec.sender,
      content,
      origin_server_ts: this.clock,
      prev_events: prev.map((id) => this.reference(id)),
      auth_events: auth.map((id) => this.reference(id)),
      depth: Math.max(0, ...prev.map((id) => this.get(id).pdu.depth)) + 1,
      hashes: { sha256: 'unhashed' },
      signatures: {},
    };
    if (!(isCreate && this.version.eventFormat === 'v12')) pdu.room_id = this.roomId;
    if (spec.stateKey !== undefined) pdu.state_key = spec.stateKey;
    if (this.version.eventIdFormat === 'v1') pdu.event_id = spec.id;
    const event: RoomEvent = { id: spec.id, pdu };
    this.events.set(spec.id, event);
    if (spec.rejected) this.rejected.add(spec.id);
    else if (spec.stateKey !== undefined) step.key = stateTuple(spec.type, spec.stateKey);
    this.steps.set(spec.id, step);
    if (step.sinceSnapshot >= SNAPSHOT_EVERY) step.snapshot = this.stateAfter(spec.id);
    this.last = spec.id;
    return event;
  }

  create(id: string, creator: string, content: Record<string, unknown> = {}): RoomEvent {
    const hasCreatorField = this.version.eventFormat === 'v1' || this.version.eventFormat === 'v3';
    const full = { room_version: this.version.id, ...(hasCreatorField ? { creator } : {}), ...content };
    return this.add({ id, type: 'm.room.create', sender: creator, stateKey: '', content: full, prev: [] });
  }

  member(id: string, sender: string, membership: string, target = sender, options: Options = {}): RoomEvent {
    return this.add({ id, type: 'm.room.member', sender, stateKey: target, content: { membership }, ...options });
  }

  /** `users` leaves out the room's creators where creators are privileged (v12), who may not be listed. */
  powerLevels(id: string, sender: string, content: Record<string, unknown>, options: Options = {}): RoomEvent {
    return this.add({ id, type: 'm.room.power_levels', sender, stateKey: '', content: this.withoutCreators(content), ...options });
  }

  joinRules(id: string, sender: string, joinRule: string, options: Options = {}): RoomEvent {
    return this.add({ id, type: 'm.room.join_rules', sender, stateKey: '', content: { join_rule: joinRule }, ...options });
  }

  topic(id: string, sender: string, topic: string, options: Options = {}): RoomEvent {
    return this.add({ id, type: 'm.room.topic', sender, stateKey: '', content: { topic }, ...options });
  }

  message(id: string, sender: string, options: Options = {}): RoomEvent {
    return this.add({ id, type: 'm.room.message', sender, content: { msgtype: 'm.text', body: id }, ...options });
  }

  get(id: string): RoomEvent {
    const event = this.events.get(id);
    if (event === undefined) throw new Error(`no event ${id} in the test DAG`);
    return event;
  }

  /** The state after the event, as this DAG tracked it along prev edges. */
  stateAfter(id: string): StateMap {
    const snapshot = this.steps.get(id)?.snapshot;
    if (snapshot !== undefined) return new Map(snapshot);
    const chain: [string, StateStep][] = [];
    let base: StateMap = new Map();
    for (let at: string | undefined = id; at !== undefined; ) {
      const step = this.steps.get(at);
      if (step === undefined) throw new Error(`no event ${at} in the test DAG`);
      if (step.snapshot !== undefined) {
        base = step.snapshot;
        break;
      }
      chain.push([at, step]);
      if (step.before !== undefined) {
        base = step.before;
        break;
      }
      at = step.parent;
    }
    const state = new Map(base);
    for (const [stepId, step] of chain.reverse()) if (step.key !== undefined) state.set(step.key, stepId);
    return state;
  }

  /** A state map holding these events, a later one replacing an earlier one of the same key. */
  stateOf(...ids: string[]): StateMap {
    const state: StateMap = new Map();
    for (const id of ids) {
      const { pdu } = this.get(id);
      if (pdu.state_key === undefined) throw new Error(`${id} is not a state event`);
      state.set(stateTuple(pdu.type, pdu.state_key), id);
    }
    return state;
  }

  source(): TestSource {
    const calls: string[][] = [];
    return {
      calls,
      get: async (ids) => {
        calls.push([...ids]);
        const found = new Map<string, RoomEvent>();
        for (const id of ids) {
          const event = this.events.get(id);
          if (event !== undefined) found.set(id, event);
        }
        return found;
      },
      rejected: async (ids) => new Set(ids.filter((id) => this.rejected.has(id))),
    };
  }

  private stepFor(spec: EventSpec, prev: string[]): StateStep {
    if (spec.stateBefore !== undefined) return { before: new Map(spec.stateBefore), sinceSnapshot: 0 };
    if (prev.length === 0) return { before: new Map(), sinceSnapshot: 0 };
    if (prev.length > 1) throw new Error(`${spec.id} has several prev events: give its stateBefore`);
    const parent = this.steps.get(prev[0]);
    if (parent === undefined) throw new Error(`no event ${prev[0]} in the test DAG`);
    return { parent: prev[0], sinceSnapshot: parent.snapshot === undefined ? parent.sinceSnapshot + 1 : 1 };
  }

  /** One key of the state before the event whose step this is, found walking back. */
  private lookupBefore(step: StateStep, key: StateTuple): string | undefined {
    if (step.before !== undefined) return step.before.get(key);
    for (let at = step.parent; at !== undefined; ) {
      const current = this.steps.get(at)!;
      if (current.key === key) return at;
      if (current.snapshot !== undefined) return current.snapshot.get(key);
      if (current.before !== undefined) return current.before.get(key);
      at = current.parent;
    }
    return undefined;
  }

  private selectAuthEvents(spec: EventSpec, before: StateLookup): string[] {
    const keys: StateTuple[] = [stateTuple('m.room.power_levels', ''), stateTuple('m.room.member', spec.sender)];
    if (this.version.eventFormat !== 'v12') keys.unshift(stateTuple('m.room.create', ''));
    const membership = spec.content?.membership;
    if (spec.type === 'm.room.member' && spec.stateKey !== undefined) {
      keys.push(stateTuple('m.room.member', spec.stateKey));
      if (membership === 'join' || membership === 'invite' || membership === 'knock') {
        keys.push(stateTuple('m.room.join_rules', ''));
      }
    }
    const ids = keys.map((key) => before.get(key)).filter((id): id is string => id !== undefined);
    return [...new Set(ids)];
  }

  private reference(id: string): EventReference {
    return this.version.eventIdFormat === 'v1' ? [id, { sha256: 'unhashed' }] : id;
  }

  private withoutCreators(content: Record<string, unknown>): Record<string, unknown> {
    const users = content.users;
    if (!this.version.privilegedCreators || typeof users !== 'object' || users === null) return content;
    const create = [...this.events.values()].find((event) => event.pdu.type === 'm.room.create');
    const creators = new Set([create?.pdu.sender, ...((create?.pdu.content.additional_creators as string[]) ?? [])]);
    return { ...content, users: Object.fromEntries(Object.entries(users).filter(([user]) => !creators.has(user))) };
  }
}

/** The spec's authorisation rules, which every state-resolution test resolves with. */
export const authorizeForTests: Authorize = authorize;

/** The events of a state map, for handing to `authorize` directly. */
export function stateEvents(dag: Dag, state: StateMap): StateEvents {
  return new Map([...state].map(([key, id]) => [key, dag.get(id)]));
}

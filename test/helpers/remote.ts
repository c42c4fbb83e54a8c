/**
 * Playing another homeserver in tests: its ed25519 key, a model of a room's
 * DAG (each event with the state before and after it, as that server sees
 * it), properly built events (prev and auth events, depth, content hash,
 * signature, event ID of the room version), a signature verifier that knows
 * the servers' keys, and a RemoteEventSource answering from the model.
 */
import { authEventsSelection } from '../../spec/auth-events';
import { addEventSignature } from '../../spec/signing';
import { serverNameOf } from '../../spec/auth/context';
import { computeEventId, roomIdOfCreateEvent } from '../../spec/event-hashes';
import { authEventIds, prevEventIds, stateTuple, type Pdu, type RoomEvent, type StateEvents } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import { signingKeyPair, verifyEventSignature, type SigningKeyPair } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import { generateSigningKey } from '../../server/config/signing-key';
import { buildEvent, type EventDraft } from '../../server/rooms/event-builder';
import type { EventSignatureVerifier, RemoteEventSource } from '../../server/rooms/remote-hooks';
import type { TestServer } from './server';

export interface Signer {
  name: string;
  key: SigningKeyPair;
}

/** A fresh server identity. */
export function signer(name: string, signingKey = generateSigningKey()): Signer {
  return { name, key: signingKeyPair(parseSigningKey(signingKey)) };
}

/** The identity of a running test server (its configured signing key). */
export function serverSigner(server: TestServer): Signer {
  return signer(server.config.server_name, server.config.signing_key);
}

/** Verifies the signatures the spec requires with the given servers' keys; any other server's are unknown, so fail. */
export function verifierFor(...signers: Signer[]): EventSignatureVerifier {
  const keys = new Map(signers.map((s) => [s.name, s.key]));
  return {
    async verify(pdu: Pdu, version: RoomVersion) {
      const required = new Set([serverNameOf(pdu.sender)]);
      if (version.eventIdFormat === 'v1') required.add(serverNameOf(pdu.event_id));
      for (const name of required) {
        const key = name === undefined ? undefined : keys.get(name);
        if (!key || !verifyEventSignature(pdu, version, name!, key.keyId, key.publicKeyBase64)) return false;
      }
      return true;
    },
  };
}

export interface BuildOptions {
  /** prev_events; by default the event added last. */
  prev?: string[];
  /** The state the auth events are chosen from; by default the state after the only prev event. */
  stateBefore?: StateEvents;
  /** origin_server_ts; by default one more than the last. */
  ts?: number;
  /** Signs as this server instead of the sender's. */
  signedBy?: Signer;
  /** Not recorded in the model (nor served): for events the test delivers broken on purpose. */
  detached?: boolean;
}

/** A room's DAG as another server sees it. */
export class RoomModel {
  readonly events = new Map<string, RoomEvent>();
  readonly stateBefore = new Map<string, StateEvents>();
  readonly stateAfter = new Map<string, StateEvents>();
  /** Event IDs in the order they were added. */
  readonly order: string[] = [];
  private clock = 1_700_000_000_000;

  constructor(
    readonly version: RoomVersion,
    public roomId: string | undefined,
    readonly signers: Map<string, Signer>,
  ) {}

  /** A model of a room on a test server, holding its accepted events as they are stored there. */
  static async ofServer(server: TestServer, roomId: string, version: RoomVersion, signers: Signer[]): Promise<RoomModel> {
    const model = new RoomModel(version, roomId, new Map(signers.map((s) => [s.name, s])));
    await model.refresh(server);
    return model;
  }

  /** Adds the test server's accepted events the model lacks, with the states the server stored for them. */
  async refresh(server: TestServer): Promise<void> {
    const { stores } = server.hs.services;
    const events = await stores.events.byTopology(this.roomId!, { order: 'asc', limit: 10_000 });
    for (const stored of events) {
      if (this.events.has(stored.event.id)) continue;
      const load = async (group: number | null) => {
        const map = group === null ? new Map<string, string>() : await stores.stateGroups.read(group);
        const found = await stores.events.get([...map.values()]);
        return new Map([...map].map(([key, id]) => [key, found.get(id)!.event]));
      };
      this.record(stored.event, await load(stored.stateGroupBefore), await load(stored.stateGroupAfter));
    }
  }

  get last(): string {
    return this.order[this.order.length - 1];
  }

  get(id: string): RoomEvent {
    const event = this.events.get(id);
    if (!event) throw new Error(`no event ${id} in the model`);
    return event;
  }

  /** Builds, signs and records an event. */
  build(draft: EventDraft, options: BuildOptions = {}): RoomEvent {
    const prev = options.prev ?? (this.order.length === 0 ? [] : [this.last]);
    if (prev.length > 1 && !options.stateBefore) throw new Error('several prev events: give stateBefore');
    const state = options.stateBefore ?? (prev.length === 0 ? new Map() : this.stateAfter.get(prev[0])!);
    const by = options.signedBy ?? this.signerOf(draft.sender);
    this.clock = options.ts ?? this.clock + 1;
    const event = buildEvent(draft, {
      version: this.version,
      roomId: this.roomId,
      serverName: by.name,
      signingKey: by.key,
      nowMs: this.clock,
      state,
      parents: prev.map((id) => ({ id, depth: this.get(id).pdu.depth, sha256: this.get(id).pdu.hashes.sha256 })),
    });
    if (draft.type === 'm.room.create') this.roomId = roomIdOfCreateEvent(event.pdu, this.version);
    if (!options.detached) this.record(event, state);
    return event;
  }

  /** A copy of `event` changed by `change` and signed again by its server (hashes left alone); not recorded. */
  resign(event: RoomEvent, change: (pdu: Record<string, unknown>) => void, by = this.signerOf(event.pdu.sender)): RoomEvent {
    const pdu = structuredClone(event.pdu) as Record<string, unknown>;
    change(pdu);
    delete pdu.signatures;
    const signed = addEventSignature(pdu, this.version, by.name, by.key) as unknown as Pdu;
    return { id: computeEventId(signed, this.version), pdu: signed };
  }

  /** Events that would be the auth events of `draft` in `state`: for tests that pick wrong ones on purpose. */
  authEventsFor(draft: EventDraft, state: StateEvents): RoomEvent[] {
    return authEventsSelection({ ...draft, state_key: draft.stateKey }, this.version)
      .map((key) => state.get(key))
      .filter((e): e is RoomEvent => e !== undefined);
  }

  /** The auth chain of the events (their auth events, recursively), without them. */
  authChain(ids: Iterable<string>): string[] {
    const seen = new Set<string>();
    const pending = [...ids];
    while (pending.length > 0) {
      const event = this.events.get(pending.pop()!);
      if (!event) continue;
      for (const id of authEventIds(event.pdu)) {
        if (!seen.has(id)) {
          seen.add(id);
          pending.push(id);
        }
      }
    }
    return [...seen];
  }

  private record(event: RoomEvent, before: StateEvents, after?: StateEvents): void {
    this.events.set(event.id, event);
    this.order.push(event.id);
    this.stateBefore.set(event.id, before);
    const next = after ?? new Map(before);
    if (!after && event.pdu.state_key !== undefined) next.set(stateTuple(event.pdu.type, event.pdu.state_key), event);
    this.stateAfter.set(event.id, next);
  }

  private signerOf(userId: string): Signer {
    const s = this.signers.get(serverNameOf(userId)!);
    if (!s) throw new Error(`no key for ${userId}'s server`);
    return s;
  }
}

export interface SourceCall {
  method: 'event' | 'eventAuth' | 'stateIds' | 'getMissingEvents';
  args: unknown[];
}

/** A RemoteEventSource answering from a model: it knows every event the model has, except those withheld. */
export class FakeSource implements RemoteEventSource {
  readonly calls: SourceCall[] = [];
  readonly withheld = new Set<string>();
  /** Served instead of the model's copy (e.g. a tampered event). */
  readonly replaced = new Map<string, Pdu>();

  constructor(private readonly model: RoomModel) {}

  private pdu(id: string): Pdu | undefined {
    if (this.withheld.has(id)) return undefined;
    return this.replaced.get(id) ?? this.model.events.get(id)?.pdu;
  }

  async event(origin: string, eventId: string) {
    this.calls.push({ method: 'event', args: [origin, eventId] });
    const pdu = this.pdu(eventId);
    if (!pdu) throw new Error('404 M_NOT_FOUND');
    return { origin, origin_server_ts: Date.now(), pdus: [pdu] };
  }

  async eventAuth(origin: string, roomId: string, eventId: string) {
    this.calls.push({ method: 'eventAuth', args: [origin, roomId, eventId] });
    if (!this.model.events.has(eventId)) throw new Error('404 M_NOT_FOUND');
    return { auth_chain: this.model.authChain([eventId]).flatMap((id) => this.pdu(id) ?? []) };
  }

  async stateIds(origin: string, roomId: string, eventId: string) {
    this.calls.push({ method: 'stateIds', args: [origin, roomId, eventId] });
    const state = this.model.stateBefore.get(eventId);
    if (!state) throw new Error('404 M_NOT_FOUND');
    const pduIds = [...state.values()].map((e) => e.id);
    return { pdu_ids: pduIds, auth_chain_ids: this.model.authChain(pduIds) };
  }

  /** A breadth-first walk of prev_events from `latest`, not past `earliest`, at most `limit`, no shallower than `minDepth`. */
  async getMissingEvents(origin: string, roomId: string, earliest: readonly string[], latest: readonly string[], limit: number, minDepth: number) {
    this.calls.push({ method: 'getMissingEvents', args: [origin, roomId, [...earliest], [...latest], limit, minDepth] });
    const stop = new Set(earliest);
    const seen = new Set<string>(latest);
    const out: Pdu[] = [];
    let frontier = [...latest];
    while (frontier.length > 0 && out.length < limit) {
      const next: string[] = [];
      for (const id of frontier) {
        const event = this.model.events.get(id);
        if (!event) continue;
        for (const prev of prevEventIds(event.pdu)) {
          if (seen.has(prev) || stop.has(prev)) continue;
          seen.add(prev);
          const pdu = this.pdu(prev);
          if (!pdu || pdu.depth < minDepth || out.length >= limit) continue;
          out.push(pdu);
          next.push(prev);
        }
      }
      frontier = next;
    }
    return { events: out };
  }

  count(method: SourceCall['method']): number {
    return this.calls.filter((c) => c.method === method).length;
  }
}

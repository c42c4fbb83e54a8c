/**
 * Appending local events to a room: under the room's write lock, build the
 * event on the current state and forward extremities, check its content and
 * format, authorise it against its auth events, persist it, move the current
 * state, and after the commit publish it.
 *
 * Cost per event: a handful of indexed reads (the auth tuples of the current
 * state and the extremities), one content hash, one signature, one auth check.
 */
import { randomBytes } from 'node:crypto';
import { authEventsSelection } from '../../spec/auth-events';
import { authorize } from '../../spec/auth-rules';
import { checkKnownContent } from '../../spec/event-content';
import { checkEventFormat } from '../../spec/event-format';
import { roomIdOfCreateEvent } from '../../spec/event-hashes';
import { forbidden, MatrixError, notFound } from '../../spec/errors';
import { AuthError, stateTuple, type RoomEvent, type StateEvents } from '../../spec/pdu';
import { CREATE_TUPLE } from '../../spec/power-levels';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import type { SigningKeyPair } from '../../spec/signing';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import { buildEvent, type EventDraft, type Parent } from './event-builder';
import type { EventBus, PersistedEvent } from './event-bus';

export interface Room {
  roomId: string;
  version: RoomVersion;
}

/** A batch of appends made under one lock; their events are published when the batch commits. */
export interface Appender {
  readonly room: Room;
  /** The transaction the appends are made in, for writes that must commit with them. */
  readonly trx: Db;
  append(draft: EventDraft): Promise<RoomEvent>;
}

export class EventSender {
  constructor(
    private readonly stores: Stores,
    private readonly bus: EventBus,
    private readonly serverName: string,
    private readonly signingKey: SigningKeyPair,
    private readonly now: () => number = Date.now,
  ) {}

  /** Appends one event to an existing room; 404 for an unknown room, 403 when the auth rules refuse it. */
  async send(roomId: string, draft: EventDraft): Promise<RoomEvent> {
    return this.inRoom(roomId, (appender) => appender.append(draft));
  }

  /**
   * The event `draft` would be on the room's current state and forward
   * extremities, signed by this server and authorised, but not stored: for an
   * event another server must see first (an invite it countersigns).
   */
  async prepare(roomId: string, draft: EventDraft): Promise<{ room: Room; event: RoomEvent }> {
    return this.stores.rooms.withLock(roomId, async (trx) => {
      const room = await this.roomIn(trx, roomId);
      return { room, event: await this.build(trx, room, draft) };
    });
  }

  /**
   * An event built on `on` alone (its one prev event and, with the create
   * event absent, its auth event), signed and not stored: a leave that
   * declines an invite to a room this server is not in and no resident server
   * would take. It is never checked against the room's auth rules.
   */
  buildOn(room: Room, draft: EventDraft, on: RoomEvent): RoomEvent {
    const { type, state_key: stateKey } = on.pdu;
    return buildEvent(draft, {
      version: room.version,
      roomId: room.roomId,
      serverName: this.serverName,
      signingKey: this.signingKey,
      nowMs: this.now(),
      state: stateKey === undefined ? new Map() : new Map([[stateTuple(type, stateKey), on]]),
      parents: [{ id: on.id, depth: on.pdu.depth, sha256: on.pdu.hashes.sha256 }],
    });
  }

  /**
   * A template for another server's user (make_join, make_leave, make_knock):
   * the event as prepare() builds it, without hashes, signatures or (room
   * versions 1-2) event ID, which the user's server adds, and with `origin`
   * naming this server. 403 when the auth rules would refuse it now.
   */
  async template(roomId: string, draft: EventDraft): Promise<{ room: Room; template: Record<string, unknown> }> {
    const { room, event } = await this.prepare(roomId, draft);
    const { hashes: _hashes, signatures: _signatures, event_id: _eventId, ...template } = event.pdu;
    return { room, template: { ...template, origin: this.serverName } };
  }

  /** Runs `fn` with the room locked; every event it appends is published once the transaction commits. */
  async inRoom<T>(roomId: string, fn: (appender: Appender) => Promise<T>): Promise<T> {
    const published: PersistedEvent[] = [];
    const result = await this.stores.rooms.withLock(roomId, async (trx) => fn(this.appender(trx, await this.roomIn(trx, roomId), published)));
    await this.announce(published);
    return result;
  }

  /**
   * Creates a room from its m.room.create draft, then runs `fn` to append the
   * initial events, all in one transaction. The room ID is random on this
   * server before room version 12, and the create event's own ID from 12.
   */
  async createRoom<T>(version: RoomVersion, create: EventDraft, fn: (appender: Appender) => Promise<T>): Promise<{ room: Room; result: T }> {
    const createEvent = buildEvent(create, {
      version,
      roomId: version.eventFormat === 'v12' ? undefined : `!${randomBytes(18).toString('base64url')}:${this.serverName}`,
      serverName: this.serverName,
      signingKey: this.signingKey,
      nowMs: this.now(),
      state: new Map(),
      parents: [],
    });
    const room = { roomId: roomIdOfCreateEvent(createEvent.pdu, version), version };
    const published: PersistedEvent[] = [];
    const result = await this.stores.rooms.withLock(room.roomId, async (trx) => {
      await this.stores.rooms.create(room.roomId, version.id, trx);
      await this.persist(trx, room, createEvent, published);
      return fn(this.appender(trx, room, published));
    });
    await this.announce(published);
    return { room, result };
  }

  private async roomIn(trx: Db, roomId: string): Promise<Room> {
    const row = await this.stores.rooms.get(roomId, trx);
    if (!row) throw notFound('Unknown room');
    return { roomId, version: knownVersion(row.version) };
  }

  /** Publishes committed events once readers can read them (an earlier write still in flight may hold them back). */
  private async announce(published: readonly PersistedEvent[]): Promise<void> {
    if (published.length === 0) return;
    await this.stores.events.positions.caughtUp();
    for (const p of published) this.bus.publish(p);
  }

  private appender(trx: Db, room: Room, published: PersistedEvent[]): Appender {
    return {
      room,
      trx,
      append: async (draft) => {
        const event = await this.build(trx, room, draft);
        await this.persist(trx, room, event, published);
        return event;
      },
    };
  }

  private async build(trx: Db, room: Room, draft: EventDraft): Promise<RoomEvent> {
    const { version } = room;
    if (draft.stateKey !== undefined) checkKnownContent(draft.type, draft.content, version);
    const authState = await this.authState(trx, room, draft);
    const event = buildEvent(draft, {
      version,
      roomId: room.roomId,
      serverName: this.serverName,
      signingKey: this.signingKey,
      nowMs: this.now(),
      state: authState,
      parents: await this.parents(trx, room),
    });
    checkEventFormat(event.pdu, version);
    try {
      authorize(event, authState, version);
    } catch (err) {
      if (err instanceof AuthError) throw forbidden(err.message);
      throw err;
    }
    return event;
  }

  private async persist(trx: Db, room: Room, event: RoomEvent, published: PersistedEvent[]): Promise<void> {
    const stateGroupBefore = await this.stores.roomState.currentStateGroup(room.roomId, trx);
    const persisted = await this.stores.events.persist(trx, { event, roomId: room.roomId, status: 'accepted', stateGroupBefore });
    if (event.pdu.state_key !== undefined && persisted.stateGroupAfter !== null) {
      await this.stores.roomState.setCurrentState(trx, room.roomId, persisted.stateGroupAfter);
    }
    const announced = { event, roomId: room.roomId, streamOrdering: persisted.streamOrdering! };
    await this.bus.persisting(trx, announced);
    published.push(announced);
  }

  /** The current-state events the draft's auth events are chosen from, plus the create event. */
  private async authState(trx: Db, room: Room, draft: EventDraft): Promise<StateEvents> {
    const tuples = new Set(authEventsSelection({ ...draft, state_key: draft.stateKey }, room.version));
    tuples.add(CREATE_TUPLE);
    return this.stores.roomState.currentStateEvents(room.roomId, tuples, trx);
  }

  private async parents(trx: Db, room: Room): Promise<Parent[]> {
    const extremities = await this.stores.events.forwardExtremities(room.roomId, trx);
    const needHashes = room.version.eventIdFormat === 'v1';
    const events = needHashes ? await this.stores.events.get(extremities.map((e) => e.eventId), trx) : undefined;
    return extremities.map((e) => ({
      id: e.eventId,
      depth: e.depth,
      sha256: events?.get(e.eventId)?.event.pdu.hashes.sha256 ?? '',
    }));
  }
}

function knownVersion(id: string): RoomVersion {
  const version = roomVersion(id);
  if (!version) throw new MatrixError(500, 'M_UNKNOWN', `Room has unsupported version ${id}`);
  return version;
}

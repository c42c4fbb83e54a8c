/**
 * Typing notifications (typing_notifications module). Who is typing where is
 * ephemeral, so it lives in this process's memory only. Its stream position
 * counts changes from the clock reading at start-up: a sync token from an
 * earlier run is below it and reads as "long ago" (see TypingStream).
 *
 * Other servers' users type through setRemote (their server's m.typing EDUs);
 * listeners hear of local users' typing, to tell other servers.
 */
import { forbidden } from '../../spec/errors';
import type { Stores } from '../../storage';
import type { PersistedEvent } from '../rooms/event-bus';
import { roomKey, type Notifier } from '../sync/notifier';

/** The timeout when the client gives none, and the longest one it may ask for (as Synapse). */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
export const MAX_TYPING_TIMEOUT_MS = 120_000;

/** Told when a local user starts (or goes on) typing, or stops. */
export type TypingListener = (roomId: string, userId: string, typing: boolean) => void;

interface RoomTyping {
  /** Each typing user and the timer that ends their typing. */
  users: Map<string, NodeJS.Timeout>;
  /** The position of the room's last change. */
  changedAt: number;
}

export class Typing {
  /** Positions at or below this one were given out by an earlier run (or never). */
  readonly startPosition: number;
  private position: number;
  private readonly rooms = new Map<string, RoomTyping>();
  private readonly listeners: TypingListener[] = [];
  /** Users typing whose typing other servers told us of: their stopping is not ours to announce. */
  private readonly remote = new Set<string>();

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
    now: () => number = Date.now,
  ) {
    this.startPosition = this.position = now();
  }

  current(): number {
    return this.position;
  }

  /**
   * Marks `userId` as typing in the room for `timeoutMs` (capped), or, with
   * null, as no longer typing. 403 unless the user is joined to the room.
   */
  async set(userId: string, roomId: string, timeoutMs: number | null): Promise<void> {
    const joined = (await this.stores.rooms.get(roomId)) !== undefined && (await this.stores.memberships.of(roomId, userId)) === 'join';
    if (!joined) throw forbidden(`${userId} is not in room ${roomId}`);
    if (timeoutMs === null) this.stop(roomId, userId, false);
    else this.start(roomId, userId, Math.min(timeoutMs, MAX_TYPING_TIMEOUT_MS));
    this.announce(roomId, userId, timeoutMs !== null);
  }

  /**
   * Another server's user starts typing for `timeoutMs` or stops (an m.typing
   * EDU, which has no timeout of its own). Ignored unless the user is joined to
   * the room; returns whether it was applied.
   */
  async setRemote(roomId: string, userId: string, typing: boolean, timeoutMs: number): Promise<boolean> {
    if ((await this.stores.rooms.get(roomId)) === undefined || (await this.stores.memberships.of(roomId, userId)) !== 'join') return false;
    if (typing) {
      this.remote.add(typingKey(roomId, userId));
      this.start(roomId, userId, timeoutMs);
    } else {
      this.stop(roomId, userId, false);
    }
    return true;
  }

  /** Registers a listener of local users' typing. */
  onChange(listener: TypingListener): void {
    this.listeners.push(listener);
  }

  /** The users typing in the room now, and the position of the room's last change (undefined: none since start-up). */
  in(roomId: string): { userIds: string[]; changedAt?: number } {
    const room = this.rooms.get(roomId);
    return room ? { userIds: [...room.users.keys()], changedAt: room.changedAt } : { userIds: [] };
  }

  /** A member who leaves (or is kicked or banned) stops typing. */
  onEvent({ event, roomId }: PersistedEvent): void {
    const { type, state_key: stateKey, content } = event.pdu;
    if (type === 'm.room.member' && stateKey !== undefined && content.membership !== 'join') this.stop(roomId, stateKey);
  }

  /** Ends every typing notification (the homeserver stops). */
  close(): void {
    for (const room of this.rooms.values()) for (const timer of room.users.values()) clearTimeout(timer);
    this.rooms.clear();
    this.remote.clear();
  }

  private start(roomId: string, userId: string, timeoutMs: number): void {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = { users: new Map(), changedAt: this.position }));
    const previous = room.users.get(userId);
    if (previous) clearTimeout(previous);
    room.users.set(userId, setTimeout(() => this.stop(roomId, userId), timeoutMs).unref());
    // Typing again before the timeout only extends it: the room's typing set is unchanged.
    if (!previous) this.changed(roomId, room);
  }

  /** Ends the user's typing in the room; a local user's ending that no request asked for (timeout, leaving) is announced. */
  private stop(roomId: string, userId: string, announce = true): void {
    const room = this.rooms.get(roomId);
    const timer = room?.users.get(userId);
    if (!room || !timer) return;
    clearTimeout(timer);
    room.users.delete(userId);
    this.changed(roomId, room);
    if (!this.remote.delete(typingKey(roomId, userId)) && announce) this.announce(roomId, userId, false);
  }

  private announce(roomId: string, userId: string, typing: boolean): void {
    for (const listener of this.listeners) listener(roomId, userId, typing);
  }

  private changed(roomId: string, room: RoomTyping): void {
    room.changedAt = ++this.position;
    this.notifier.notify([roomKey(roomId)]);
  }
}

const typingKey = (roomId: string, userId: string) => `${roomId}|${userId}`;

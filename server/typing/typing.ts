/**
 * Typing notifications (typing_notifications module). Who is typing where is
 * ephemeral, so it lives in this process's memory only. Its stream position
 * counts changes from the clock reading at start-up: a sync token from an
 * earlier run is below it and reads as "long ago" (see TypingStream).
 */
import { forbidden } from '../../spec/errors';
import type { Stores } from '../../storage';
import type { PersistedEvent } from '../rooms/event-bus';
import { roomKey, type Notifier } from '../sync/notifier';

/** The timeout when the client gives none, and the longest one it may ask for (as Synapse). */
export const DEFAULT_TYPING_TIMEOUT_MS = 30_000;
export const MAX_TYPING_TIMEOUT_MS = 120_000;

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
    if (timeoutMs === null) this.stop(roomId, userId);
    else this.start(roomId, userId, Math.min(timeoutMs, MAX_TYPING_TIMEOUT_MS));
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

  private stop(roomId: string, userId: string): void {
    const room = this.rooms.get(roomId);
    const timer = room?.users.get(userId);
    if (!room || !timer) return;
    clearTimeout(timer);
    room.users.delete(userId);
    this.changed(roomId, room);
  }

  private changed(roomId: string, room: RoomTyping): void {
    room.changedAt = ++this.position;
    this.notifier.notify([roomKey(roomId)]);
  }
}

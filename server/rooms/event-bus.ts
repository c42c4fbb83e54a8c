/**
 * The room engine announces every event it persists here. Sync, federation
 * sending and push subscribe at start-up; the engine imports none of them.
 *
 * - `onPersist` hooks run inside the transaction that stores the event, under
 *   the room's lock: for data that must commit with the event (push actions,
 *   so unread counts never lag the timeline). Keep them short.
 * - `subscribe` listeners run after the commit.
 */
import type { RoomEvent } from '../../spec/pdu';
import type { Db } from '../../storage/db';

export interface PersistedEvent {
  event: RoomEvent;
  roomId: string;
  streamOrdering: number;
}

export type EventListener = (persisted: PersistedEvent) => void;

export type PersistHook = (trx: Db, persisted: PersistedEvent) => Promise<void>;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly hooks = new Set<PersistHook>();

  /** Returns a function that unsubscribes. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `hook` in the transaction of every event persisted from now on. */
  onPersist(hook: PersistHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  /** Called by the engine inside the transaction that stores the event. */
  async persisting(trx: Db, persisted: PersistedEvent): Promise<void> {
    for (const hook of this.hooks) await hook(trx, persisted);
  }

  publish(persisted: PersistedEvent): void {
    for (const listener of this.listeners) listener(persisted);
  }
}

/**
 * The room engine publishes every event it persists here, after the commit.
 * Sync, federation sending and push subscribe at start-up; the engine imports
 * none of them.
 */
import type { RoomEvent } from '../../spec/pdu';

export interface PersistedEvent {
  event: RoomEvent;
  roomId: string;
  streamOrdering: number;
}

export type EventListener = (persisted: PersistedEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  /** Returns a function that unsubscribes. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(persisted: PersistedEvent): void {
    for (const listener of this.listeners) listener(persisted);
  }
}

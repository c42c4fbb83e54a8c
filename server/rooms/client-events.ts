/**
 * Stored events as clients see them: redacted where a redaction applies (with
 * the redaction in `unsigned.redacted_because`), `prev_content` for state
 * events, `transaction_id` for the device that sent them, and bundled
 * aggregations (`unsigned.m.relations`, server/rooms/aggregations.ts).
 */
import { toClientEvent, type ClientEvent } from '../../spec/client-event';
import { redact } from '../../spec/redaction';
import { roomVersion } from '../../spec/room-versions';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import { Aggregations } from './aggregations';
import type { Visibility } from './visibility';

export interface Viewer {
  userId: string;
  deviceId?: string;
}

export interface FormatOptions {
  /** For /sync, where the room is implied. */
  withoutRoomId?: boolean;
  /** Leave out bundled aggregations (unsigned["m.relations"]). */
  withoutAggregations?: boolean;
}

export class ClientEvents {
  private readonly aggregations: Aggregations;

  constructor(
    private readonly stores: Stores,
    visibility: Visibility,
    private readonly now: () => number = Date.now,
  ) {
    this.aggregations = new Aggregations(stores, visibility, (events, viewer, options) => this.format(events, viewer, options));
  }

  async formatOne(stored: StoredEvent, viewer: Viewer, options: FormatOptions = {}): Promise<ClientEvent> {
    return (await this.format([stored], viewer, options))[0];
  }

  /** Formats events in the order given. */
  async format(events: readonly StoredEvent[], viewer: Viewer, options: FormatOptions = {}): Promise<ClientEvent[]> {
    const redactionIds = events.flatMap((e) => (e.redactedBy ? [e.redactedBy] : []));
    const replacedIds = events.flatMap((e) => (e.prevState ? [e.prevState] : []));
    const [redactions, replaced] = await Promise.all([this.stores.events.get(redactionIds), this.stores.events.get(replacedIds)]);
    const bundles = options.withoutAggregations ? undefined : await this.aggregations.bundles(events, viewer, options);
    const own = events.filter((e) => e.event.pdu.sender === viewer.userId).map((e) => e.event.id);
    const ownTxns = viewer.deviceId === undefined || own.length === 0
      ? new Map<string, string>()
      : await this.stores.eventTxns.sentBy(viewer.userId, viewer.deviceId, own);
    const out: ClientEvent[] = [];
    for (const stored of events) {
      const unsigned: Record<string, unknown> = {};
      let pdu = stored.event.pdu;
      const redaction = stored.redactedBy ? redactions.get(stored.redactedBy) : undefined;
      if (redaction) {
        pdu = redact(pdu, await this.versionOf(stored));
        unsigned.redacted_because = toClientEvent(redaction.event.id, redaction.event.pdu, {
          roomId: redaction.roomId,
          withoutRoomId: options.withoutRoomId,
          nowMs: this.now(),
        });
      }
      const previous = stored.prevState ? replaced.get(stored.prevState) : undefined;
      if (pdu.state_key !== undefined && previous) unsigned.prev_content = await this.contentOf(previous);
      const txnId = ownTxns.get(stored.event.id);
      if (txnId !== undefined) unsigned.transaction_id = txnId;
      const bundle = bundles?.get(stored.event.id);
      if (bundle) unsigned['m.relations'] = bundle;
      out.push(toClientEvent(stored.event.id, pdu, { roomId: stored.roomId, withoutRoomId: options.withoutRoomId, nowMs: this.now(), unsigned }));
    }
    return out;
  }

  /** An event's content as clients see it: redacted if a redaction applies. */
  private async contentOf(stored: StoredEvent): Promise<Record<string, unknown>> {
    return stored.redactedBy ? redact(stored.event.pdu, await this.versionOf(stored)).content : stored.event.pdu.content;
  }

  private async versionOf(stored: StoredEvent) {
    return roomVersion((await this.stores.rooms.get(stored.roomId))!.version)!;
  }
}

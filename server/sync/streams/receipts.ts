/**
 * The receipts stream: one `m.receipt` ephemeral event per joined room with
 * the receipts set in (since, to]; all of a room's receipts on an initial or
 * full-state sync and for newly joined rooms. Other users' private receipts
 * never leave the server; the filter's `room.ephemeral` part applies.
 */
import { eventAllowed } from '../../../spec/filter';
import type { Stores } from '../../../storage';
import type { Receipt } from '../../../storage/receipts';
import type { BasicEvent, SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';

/** `{event_id: {receipt_type: {user_id: {ts, thread_id?}}}}` for each room. */
function receiptEvents(receipts: readonly Receipt[]): Map<string, BasicEvent> {
  const events = new Map<string, BasicEvent>();
  for (const r of receipts) {
    let event = events.get(r.roomId);
    if (!event) events.set(r.roomId, (event = { type: 'm.receipt', content: {} }));
    const byType = ((event.content[r.eventId] as Record<string, Record<string, unknown>> | undefined) ??= {});
    const byUser = (byType[r.type] ??= {}) as Record<string, unknown>;
    byUser[r.userId] = r.threadId === undefined ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
  }
  return events;
}

export class ReceiptStream implements SyncStream {
  readonly name = 'receipts' as const;

  constructor(private readonly stores: Stores) {}

  current(): Promise<number> {
    return this.stores.receipts.positions.latest();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    if (ctx.since && !ctx.fullState && ctx.since[this.name] === ctx.to[this.name] && ctx.rooms.newlyJoined.size === 0) return;
    const { userId } = ctx.requester;
    const filter = ctx.filter.room.ephemeral;
    const rooms = [...ctx.rooms.joined].filter((roomId) => eventAllowed(filter, { type: 'm.receipt', room_id: roomId }));
    const to = ctx.to[this.name];
    const whole = new Set(ctx.since === undefined || ctx.fullState ? rooms : rooms.filter((roomId) => ctx.rooms.newlyJoined.has(roomId)));
    const changed = ctx.since === undefined ? [] : rooms.filter((roomId) => !whole.has(roomId));
    const receipts = [
      ...(await this.stores.receipts.current([...whole], to, userId)),
      ...(ctx.since === undefined ? [] : await this.stores.receipts.changesIn(changed, ctx.since[this.name], to, userId)),
    ];
    for (const [roomId, event] of receiptEvents(receipts)) out.addEphemeral(roomId, event);
  }
}

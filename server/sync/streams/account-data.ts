/**
 * The account data stream: global entries in `account_data`, room entries in
 * each room's `account_data`. Every write moves an entry to a new position.
 */
import { eventAllowed } from '../../../spec/filter';
import type { Stores } from '../../../storage';
import type { AccountDataEntry } from '../../../storage/account-data';
import type { SyncBuilder } from '../response';
import type { SyncContext, SyncStream } from '../stream';

export class AccountDataStream implements SyncStream {
  readonly name = 'account_data' as const;

  constructor(private readonly stores: Stores) {}

  current(): Promise<number> {
    return this.stores.accountData.positions.latest();
  }

  async sync(ctx: SyncContext, out: SyncBuilder): Promise<void> {
    const { userId } = ctx.requester;
    const to = ctx.to[this.name];
    // Rooms whose account data goes out whole: every joined room on an initial or
    // full-state sync, newly joined ones otherwise; other rooms send their changes.
    const whole = new Set(ctx.since === undefined || ctx.fullState ? ctx.rooms.joined : ctx.rooms.newlyJoined);
    if (ctx.since !== undefined && ctx.since[this.name] === to && whole.size === 0) return;
    const changes = ctx.since === undefined ? [] : await this.stores.accountData.changesSince(userId, ctx.since[this.name], to);
    const global = ctx.since === undefined ? await this.stores.accountData.all(userId, { global: true }) : changes.filter((e) => e.roomId === null);
    const rooms = [
      ...(await this.stores.accountData.all(userId, { rooms: [...whole] })),
      ...changes.filter((e) => e.roomId !== null && !whole.has(e.roomId)),
    ];

    const visible = (entry: AccountDataEntry) => entry.streamId <= to;
    const { limit } = ctx.filter.accountData;
    const globalEvents = global.filter(visible).map(toEvent).filter((event) => eventAllowed(ctx.filter.accountData, event));
    out.accountData.push(...(limit === undefined ? globalEvents : globalEvents.slice(-limit)));
    for (const entry of rooms.filter(visible)) {
      const roomId = entry.roomId!;
      if (!eventAllowed(ctx.filter.room.accountData, { ...toEvent(entry), room_id: roomId })) continue;
      if (ctx.rooms.joined.has(roomId)) out.addRoomAccountData(roomId, toEvent(entry));
      else if (out.left.has(roomId)) out.addRoomAccountData(roomId, toEvent(entry), true);
    }
  }
}

const toEvent = (entry: AccountDataEntry) => ({ type: entry.type, content: entry.content });

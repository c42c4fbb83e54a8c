/**
 * Reading notifications: the unread counts of /sync (per room, and per thread
 * when the filter asks for `unread_thread_notifications`) and GET /notifications.
 */
import type { ClientEvent } from '../../spec/client-event';
import { MAIN_THREAD } from '../../spec/push/thread';
import type { Stores } from '../../storage';
import type { Requester } from '../http/route';
import type { ClientEvents } from '../rooms/client-events';
import type { NotificationCountsByRoom, UnreadCounter } from '../sync/stream';

export interface NotificationsPage {
  notifications: {
    actions: unknown[];
    event: ClientEvent;
    read: boolean;
    room_id: string;
    ts: number;
  }[];
  next_token?: string;
}

export class Notifications implements UnreadCounter {
  constructor(
    private readonly stores: Stores,
    private readonly clientEvents: ClientEvents,
  ) {}

  async counts(userId: string, roomIds: readonly string[], perThread: boolean, upTo: number): Promise<Map<string, NotificationCountsByRoom>> {
    const out = new Map<string, NotificationCountsByRoom>();
    for (const row of await this.stores.pushActions.unreadCounts(userId, roomIds, upTo)) {
      let counts = out.get(row.roomId);
      if (!counts) out.set(row.roomId, (counts = { room: { notification_count: 0, highlight_count: 0 } }));
      const add = { notification_count: row.notifications, highlight_count: row.highlights };
      if (!perThread || row.threadId === MAIN_THREAD) {
        counts.room.notification_count += add.notification_count;
        counts.room.highlight_count += add.highlight_count;
      } else {
        (counts.threads ??= {})[row.threadId] = add;
      }
    }
    return out;
  }

  /** GET /notifications: newest first, before the `from` token (a stream ordering). */
  async page(requester: Requester, options: { from?: number; limit: number; onlyHighlight: boolean }): Promise<NotificationsPage> {
    const rows = await this.stores.pushActions.page(requester.userId, { before: options.from, limit: options.limit + 1, onlyHighlight: options.onlyHighlight });
    const page = rows.slice(0, options.limit);
    const stored = await this.stores.events.get(page.map((r) => r.eventId));
    const found = page.filter((r) => stored.has(r.eventId));
    const events = await this.clientEvents.format(found.map((r) => stored.get(r.eventId)!), requester, { withoutRoomId: true });
    const response: NotificationsPage = {
      notifications: found.map((r, i) => ({ actions: r.actions, event: events[i], read: r.read, room_id: r.roomId, ts: r.ts })),
    };
    if (rows.length > options.limit && page.length > 0) response.next_token = String(page[page.length - 1].streamOrdering);
    return response;
  }
}

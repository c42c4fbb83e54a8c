/**
 * Receipts and read markers (modules/receipts.md, read_markers.md): POST
 * /receipt and POST /read_markers. A receipt only moves forwards; m.read and
 * m.read.private also mark the notifications they cover as read. The fully read
 * marker is the room account data m.fully_read, which only this module writes.
 *
 * Wake-ups: a public receipt concerns the room; a private one only its owner.
 *
 * Other servers' users' receipts come through applyRemote (their server's
 * m.receipt EDUs); listeners hear of local users' public receipts, to tell
 * other servers. Private receipts never leave this server.
 */
import { forbidden, invalidParam, notFound } from '../../spec/errors';
import { isValidRoomId } from '../../spec/identifiers';
import { MAIN_THREAD, threadOf } from '../../spec/push/thread';
import type { ReadMarkersBody } from '../../spec/schemas/receipts';
import type { Stores } from '../../storage';
import type { StoredEvent } from '../../storage/events';
import { PRIVATE_RECEIPT_TYPES } from '../../storage/receipts';
import type { Requester } from '../http/route';
import type { AccountData } from '../services/account-data';
import { roomKey, userKey, type Notifier, type WakeKey } from '../sync/notifier';

export const READ_RECEIPT_TYPES = ['m.read', 'm.read.private'] as const;
export type ReadReceiptType = (typeof READ_RECEIPT_TYPES)[number];
export const FULLY_READ = 'm.fully_read';

export const isReadReceiptType = (type: string): type is ReadReceiptType => (READ_RECEIPT_TYPES as readonly string[]).includes(type);

/** Told when a receipt lowered a user's unread counts (push gateways get the new counts). */
export type CountsListener = (userId: string) => void;

/** A public receipt as it crosses servers. */
export interface PublicReceipt {
  roomId: string;
  userId: string;
  type: string;
  eventId: string;
  threadId?: string;
  ts: number;
}

/** Told of each public receipt a local user set. */
export type ReceiptListener = (receipt: PublicReceipt) => void;

interface ReceiptWrite {
  type: ReadReceiptType;
  event: StoredEvent;
  threadId?: string;
}

export class Receipts {
  private readonly listeners: ReceiptListener[] = [];

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
    private readonly accountData: AccountData,
    private readonly countsChanged: CountsListener,
    private readonly now: () => number = Date.now,
  ) {}

  /** POST /receipt: m.read and m.read.private (threaded or not), or m.fully_read as /read_markers does it. */
  async receipt(requester: Requester, roomId: string, type: string, eventId: string, threadId: string | undefined): Promise<void> {
    if (type === FULLY_READ) {
      if (threadId !== undefined) throw invalidParam('m.fully_read takes no thread_id');
      return this.readMarkers(requester, roomId, { [FULLY_READ]: eventId });
    }
    if (!isReadReceiptType(type)) throw invalidParam(`Receipt type must be one of ${[...READ_RECEIPT_TYPES, FULLY_READ].join(', ')}`);
    const event = await this.eventToAcknowledge(requester.userId, roomId, eventId);
    if (threadId !== undefined) await this.checkThread(event, threadId);
    await this.write(requester.userId, roomId, [{ type, event, threadId }], undefined);
  }

  /** POST /read_markers: the fully read marker, and the read receipts, all or nothing. */
  async readMarkers(requester: Requester, roomId: string, body: ReadMarkersBody): Promise<void> {
    const { userId } = requester;
    const load = (eventId: string | undefined) => (eventId === undefined ? undefined : this.eventToAcknowledge(userId, roomId, eventId));
    const [fullyRead, read, readPrivate] = [await load(body[FULLY_READ]), await load(body['m.read']), await load(body['m.read.private'])];
    const receipts: ReceiptWrite[] = [];
    if (read) receipts.push({ type: 'm.read', event: read });
    if (readPrivate) receipts.push({ type: 'm.read.private', event: readPrivate });
    await this.write(userId, roomId, receipts, fullyRead);
  }

  /** Registers a listener of local users' public receipts. */
  onPublicReceipt(listener: ReceiptListener): void {
    this.listeners.push(listener);
  }

  /**
   * Another server's users' m.read receipts in a room (an m.receipt EDU): each
   * for a user joined to the room, and only moving forwards. A receipt may
   * point at an event not received yet: it then counts as at the latest position.
   */
  async applyRemote(roomId: string, receipts: readonly Omit<PublicReceipt, 'roomId' | 'type'>[]): Promise<void> {
    if (!(await this.stores.rooms.get(roomId))) return;
    const accepted: (typeof receipts)[number][] = [];
    for (const receipt of receipts) if ((await this.stores.memberships.of(roomId, receipt.userId)) === 'join') accepted.push(receipt);
    if (accepted.length === 0) return;
    const events = await this.stores.events.get(accepted.map((r) => r.eventId));
    const latest = await this.stores.events.positions.latest();
    let set = false;
    await this.stores.db.transaction(async (trx) => {
      for (const { userId, eventId, threadId, ts } of accepted) {
        const event = events.get(eventId);
        const known = event !== undefined && event.roomId === roomId && event.streamOrdering !== null;
        const eventStream = known ? event.streamOrdering! : latest;
        if (await this.stores.receipts.put(trx, { roomId, userId, type: 'm.read', threadId, eventId, eventStream, ts })) set = true;
      }
    });
    if (!set) return;
    await this.stores.receipts.positions.caughtUp();
    this.notifier.notify([roomKey(roomId)]);
  }

  /** Writes the receipts and the fully read marker in one transaction, then wakes whom they concern. */
  private async write(userId: string, roomId: string, receipts: readonly ReceiptWrite[], fullyRead: StoredEvent | undefined): Promise<void> {
    const now = this.now();
    const keys = new Set<WakeKey>();
    let countsChanged = false;
    const announced: PublicReceipt[] = [];
    const moveFullyRead = fullyRead !== undefined && (await this.fullyReadBefore(userId, roomId, fullyRead));
    await this.stores.db.transaction(async (trx) => {
      if (moveFullyRead) await this.accountData.put(userId, roomId, FULLY_READ, { event_id: fullyRead.event.id }, trx);
      for (const { type, event, threadId } of receipts) {
        const streamOrdering = event.streamOrdering!;
        const set = await this.stores.receipts.put(trx, { roomId, userId, type, threadId, eventId: event.event.id, eventStream: streamOrdering, ts: now });
        if (!set) continue;
        if (!PRIVATE_RECEIPT_TYPES.includes(type)) announced.push({ roomId, userId, type, eventId: event.event.id, threadId, ts: now });
        keys.add(PRIVATE_RECEIPT_TYPES.includes(type) ? userKey(userId) : roomKey(roomId));
        if ((await this.stores.pushActions.markRead(trx, userId, roomId, { streamOrdering, threadId }, now)) > 0) countsChanged = true;
      }
    });
    await this.stores.receipts.positions.caughtUp();
    this.notifier.notify(keys);
    for (const receipt of announced) for (const listener of this.listeners) listener(receipt);
    if (countsChanged) this.countsChanged(userId);
  }

  /** Whether m.fully_read is before the event (or unset): the marker only moves forwards. */
  private async fullyReadBefore(userId: string, roomId: string, event: StoredEvent): Promise<boolean> {
    const current = await this.accountData.get(userId, roomId, FULLY_READ);
    const currentId = typeof current?.event_id === 'string' ? current.event_id : undefined;
    if (currentId === undefined) return true;
    const at = (await this.stores.events.get([currentId])).get(currentId);
    return at?.streamOrdering == null || at.streamOrdering < event.streamOrdering!;
  }

  /** The event a receipt or marker points at: in a room the user is joined to, and in its timeline. */
  private async eventToAcknowledge(userId: string, roomId: string, eventId: string): Promise<StoredEvent> {
    if (!isValidRoomId(roomId)) throw invalidParam(`'${roomId}' is not a valid room ID`);
    if (!eventId.startsWith('$')) throw invalidParam(`'${eventId}' is not an event ID`);
    if (!(await this.stores.rooms.get(roomId))) throw notFound('Unknown room');
    if ((await this.stores.memberships.of(roomId, userId)) !== 'join') throw forbidden('You are not joined to this room');
    const event = (await this.stores.events.get([eventId])).get(eventId);
    if (!event || event.roomId !== roomId || event.status !== 'accepted' || event.streamOrdering === null) throw notFound('Event not found in this room');
    return event;
  }

  /** A threaded receipt's event must be in its thread (`main`: in no thread), or be the thread's root. */
  private async checkThread(event: StoredEvent, threadId: string): Promise<void> {
    if (threadId === event.event.id) return;
    const thread = await threadOf(event.event.pdu.content, async (id) => (await this.stores.events.get([id])).get(id)?.event.pdu.content);
    if (thread !== threadId) {
      throw invalidParam(threadId === MAIN_THREAD ? 'The event is in a thread, not in the main timeline' : `The event is not in the thread ${threadId}`);
    }
  }
}

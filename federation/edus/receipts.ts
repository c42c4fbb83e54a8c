/**
 * Inbound m.receipt (server-server-api.md, "Receipts"): per room, all of a
 * room's receipts are ignored unless we are in it and its ACL admits the
 * sending server; each m.read receipt must be by a user of that server.
 * Receipts the EDU does not list are left as they are.
 */
import { readReceipt, receiptEdu } from '../../spec/schemas/edus';
import type { Services } from '../../server/services';
import type { EduHandler } from '../inbound/transactions';
import { isUserOf, roomOpenTo } from './checks';

export function receiptHandler(services: Pick<Services, 'stores' | 'receipts'>): EduHandler {
  return async (origin, content) => {
    if (!receiptEdu(content)) return;
    for (const [roomId, byType] of Object.entries(content)) {
      const reads = byType['m.read'];
      if (reads === undefined || !(await roomOpenTo(services.stores, roomId, origin))) continue;
      const receipts = [];
      for (const [userId, receipt] of Object.entries(reads)) {
        if (!isUserOf(origin, userId) || !readReceipt(receipt)) continue;
        receipts.push({ userId, eventId: receipt.event_ids[0], threadId: receipt.data.thread_id, ts: receipt.data.ts });
      }
      await services.receipts.applyRemote(roomId, receipts);
    }
  };
}

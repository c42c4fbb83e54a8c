/** Receipts and read markers (receipts.yaml, read_markers.yaml). */
import { readMarkersBody, receiptBody, threadIdParam, type ReadMarkersBody } from '../../spec/schemas/receipts';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function receiptRoutes(s: Services): Route<any>[] {
  return [
    authed<{ thread_id?: unknown }>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/receipt/:receiptType/:eventId`,
      rateLimit: 'request',
      body: receiptBody,
      handler: async ({ requester, params, body }) => {
        await s.receipts.receipt(requester, params.roomId, params.receiptType, params.eventId, threadIdParam(body.thread_id));
        return {};
      },
    }),
    authed<ReadMarkersBody>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/read_markers`,
      rateLimit: 'request',
      body: readMarkersBody,
      handler: async ({ requester, params, body }) => {
        await s.receipts.readMarkers(requester, params.roomId, body);
        return {};
      },
    }),
  ];
}

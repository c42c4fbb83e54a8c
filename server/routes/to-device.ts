/** PUT /sendToDevice/{eventType}/{txnId} (to_device.yaml). */
import { invalidParam } from '../../spec/errors';
import { MAX_ID_BYTES } from '../../spec/identifiers';
import { sendToDeviceBody } from '../../spec/schemas/to-device';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

function checkLength(name: string, value: string): void {
  if (Buffer.byteLength(value, 'utf8') > MAX_ID_BYTES) throw invalidParam(`The ${name} may not be longer than ${MAX_ID_BYTES} bytes`);
}

export function toDeviceRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'PUT',
      path: '/_matrix/client/v3/sendToDevice/:eventType/:txnId',
      guests: true,
      body: sendToDeviceBody,
      handler: async ({ requester, params: { eventType, txnId }, body }) => {
        checkLength('event type', eventType);
        checkLength('transaction ID', txnId);
        await s.toDevice.send(requester, eventType, txnId, body.messages);
        return {};
      },
    }),
  ];
}

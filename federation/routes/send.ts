/** PUT /_matrix/federation/v1/send/{txnId} (transactions.yaml): other servers push PDUs and EDUs. */
import { transactionBody } from '../../spec/schemas/federation';
import type { Route } from '../../server/http/route';
import type { TransactionReceiver } from '../inbound/transactions';
import { fromServer } from './from-server';

/** 50 PDUs of at most 64 KiB each, 100 EDUs, and JSON's overhead. */
const MAX_TRANSACTION_BYTES = 8 * 1024 * 1024;

export function sendRoutes(receiver: TransactionReceiver): Route<any>[] {
  return [
    fromServer({
      method: 'PUT',
      path: '/_matrix/federation/v1/send/:txnId',
      maxBodyBytes: MAX_TRANSACTION_BYTES,
      body: transactionBody,
      handler: ({ origin, params, body }) => receiver.receive(origin, params.txnId, body),
    }),
  ];
}

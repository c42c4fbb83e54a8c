/**
 * End-to-end encryption keys (keys.yaml, cross_signing.yaml): upload, query
 * and claim keys, the device list changes between two sync tokens, and
 * cross-signing keys and signatures.
 */
import { missingParam } from '../../spec/errors';
import {
  claimKeysBody, queryKeysBody, uploadCrossSigningKeysBody, uploadKeysBody, uploadSignaturesBody,
  type ClaimKeysBody, type QueryKeysBody, type UploadCrossSigningKeysBody, type UploadKeysBody, type UploadSignaturesBody,
} from '../../spec/schemas/keys';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import { parseSyncToken, STREAMS, type Positions } from '../sync/token';

const V3 = '/_matrix/client/v3';

function syncTokenParam(name: string, value: string | undefined): Positions {
  if (value === undefined) throw missingParam(`Missing required parameter '${name}'`);
  return parseSyncToken(value);
}

const earlier = (a: Positions, b: Positions): Positions =>
  Object.fromEntries(STREAMS.map((name) => [name, Math.min(a[name], b[name])])) as Positions;

export function keyRoutes(s: Services): Route<any>[] {
  const { keys, crossSigning, deviceLists } = s.e2ee;
  return [
    authed<UploadKeysBody>({
      method: 'POST',
      path: `${V3}/keys/upload`,
      guests: true,
      body: uploadKeysBody,
      handler: ({ requester, body }) => keys.upload(requester, body),
    }),
    authed<QueryKeysBody>({
      method: 'POST',
      path: `${V3}/keys/query`,
      guests: true,
      body: queryKeysBody,
      handler: ({ requester, body }) => keys.query(requester, body),
    }),
    authed<ClaimKeysBody>({
      method: 'POST',
      path: `${V3}/keys/claim`,
      guests: true,
      body: claimKeysBody,
      handler: ({ body }) => keys.claim(body),
    }),
    authed({
      method: 'GET',
      path: `${V3}/keys/changes`,
      handler: async ({ requester, query }) => {
        // `to` is the client's latest next_batch; a token from the future reads as now.
        const to = earlier(syncTokenParam('to', query.to), await s.sync.current());
        const from = earlier(syncTokenParam('from', query.from), to);
        const joined = new Set(await s.stores.memberships.roomsOf(requester.userId, ['join']));
        const { changed, left } = await deviceLists.delta(requester.userId, from, to, { joined });
        return { changed: [...changed], left: [...left] };
      },
    }),
    authed<UploadCrossSigningKeysBody>({
      method: 'POST',
      path: `${V3}/keys/device_signing/upload`,
      body: uploadCrossSigningKeysBody,
      handler: async ({ requester, body }) => {
        await crossSigning.uploadKeys({ requester, path: `${V3}/keys/device_signing/upload`, body });
        return {};
      },
    }),
    authed<UploadSignaturesBody>({
      method: 'POST',
      path: `${V3}/keys/signatures/upload`,
      body: uploadSignaturesBody,
      handler: ({ requester, body }) => crossSigning.uploadSignatures(requester, body),
    }),
  ];
}

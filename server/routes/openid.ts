/** OpenID (openid.yaml): a token a user hands to a third party to prove who they are. */
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

export function openIdRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'POST',
      path: '/_matrix/client/v3/user/:userId/openid/request_token',
      rateLimit: 'request',
      handler: ({ requester, params }) => s.openid.requestToken(requester, params.userId),
    }),
  ];
}

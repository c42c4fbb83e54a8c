/** Declaring a route other servers call with a signed request (X-Matrix). */
import type { Request, Route } from '../../server/http/route';

/** A request whose X-Matrix signature the app has checked: `origin` is the server that signed it. */
export type FromServer<B> = Request<B> & { origin: string };

/** Typed helper: a route with `auth: 'server'` whose handler always has an origin. */
export function fromServer<B>(route: Omit<Route<B>, 'auth' | 'handler'> & {
  handler(req: FromServer<B>): Promise<unknown> | unknown;
}): Route<B> {
  return { ...route, auth: 'server', handler: route.handler as Route<B>['handler'] };
}

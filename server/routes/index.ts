/** Every Client-Server route. One module per area; add new modules here. */
import type { Route } from '../http/route';
import type { Services } from '../services';
import { discoveryRoutes } from './discovery';
import { sessionRoutes } from './session';

export function clientRoutes(s: Services): Route<any>[] {
  return [
    ...discoveryRoutes(s),
    ...sessionRoutes(s),
  ];
}

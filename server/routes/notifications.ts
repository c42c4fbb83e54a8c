/** GET /notifications (notifications.yaml). */
import { invalidParam } from '../../spec/errors';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';
import { limitParam } from './pagination';

const DEFAULT_LIMIT = 50;

/** `from`: the `next_token` of an earlier page. */
function fromParam(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]{1,16}$/.test(value)) throw invalidParam(`Unknown 'from' token '${value.slice(0, 64)}'`);
  return Number(value);
}

export function notificationRoutes(s: Services): Route<any>[] {
  return [
    authed({
      method: 'GET',
      path: '/_matrix/client/v3/notifications',
      handler: ({ requester, query }) =>
        s.push.notifications.page(requester, {
          from: fromParam(query.from),
          limit: limitParam(query.limit, DEFAULT_LIMIT, 1),
          onlyHighlight: query.only === 'highlight',
        }),
    }),
  ];
}

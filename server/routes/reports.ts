/** Reporting events, rooms and users to the server's administrators (report_content.yaml). */
import { reasonRequiredBody, reportBody, type ReportBody } from '../../spec/schemas/rooms';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function reportRoutes(s: Services): Route<any>[] {
  const { reports } = s.rooms;
  return [
    authed<ReportBody>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/report/:eventId`,
      rateLimit: 'request',
      body: reportBody,
      handler: async ({ requester, params, body }) => {
        await reports.reportEvent(requester, params.roomId, params.eventId, { reason: body.reason, score: body.score });
        return {};
      },
    }),
    authed<{ reason: string }>({
      method: 'POST',
      path: `${V3}/rooms/:roomId/report`,
      rateLimit: 'request',
      body: reasonRequiredBody,
      handler: async ({ requester, params, body }) => {
        await reports.reportRoom(requester, params.roomId, body.reason);
        return {};
      },
    }),
    authed<{ reason: string }>({
      method: 'POST',
      path: `${V3}/users/:userId/report`,
      rateLimit: 'request',
      body: reasonRequiredBody,
      handler: async ({ requester, params, body }) => {
        await reports.reportUser(requester, params.userId, body.reason);
        return {};
      },
    }),
  ];
}

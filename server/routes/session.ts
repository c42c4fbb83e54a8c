/** Logging in and out: /login, /refresh, /logout, /logout/all, /account/whoami. */
import { forbidden, MatrixError, missingParam } from '../../spec/errors';
import { loginBody, refreshBody, type LoginBody } from '../../spec/schemas/session';
import { authed, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

export function sessionRoutes(s: Services): Route<any>[] {
  return [
    {
      method: 'GET',
      path: `${V3}/login`,
      auth: 'none',
      rateLimit: 'request',
      handler: () => ({ flows: [{ type: 'm.login.password' }] }),
    },
    {
      method: 'POST',
      path: `${V3}/login`,
      auth: 'none',
      rateLimit: 'login',
      body: loginBody,
      handler: async ({ body }: { body: LoginBody }) => {
        if (body.type !== 'm.login.password') {
          throw new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${body.type}`);
        }
        if (body.password === undefined) throw missingParam("Missing required field 'password'");
        const userId = s.accounts.localUserId(loginUser(body));
        if (userId === null) throw forbidden('Invalid username or password');
        const user = await s.stores.users.get(userId);
        if (user?.deactivated) throw new MatrixError(403, 'M_USER_DEACTIVATED', 'This account has been deactivated');
        if (!user || !(await s.accounts.checkPassword(userId, body.password))) {
          throw forbidden('Invalid username or password');
        }
        const session = await s.accounts.startSession(userId, {
          deviceId: body.device_id,
          displayName: body.initial_device_display_name,
          refreshable: body.refresh_token,
        });
        return { ...session, home_server: s.config.server_name };
      },
    },
    {
      method: 'POST',
      path: `${V3}/refresh`,
      auth: 'none',
      rateLimit: 'request',
      body: refreshBody,
      handler: ({ body }: { body: { refresh_token: string } }) => s.sessions.refresh(body.refresh_token),
    },
    authed({
      method: 'POST',
      path: `${V3}/logout`,
      guests: true,
      handler: async ({ requester }) => {
        await s.accounts.deleteDevices(requester.userId, [requester.deviceId]);
        return {};
      },
    }),
    authed({
      method: 'POST',
      path: `${V3}/logout/all`,
      guests: true,
      handler: async ({ requester }) => {
        await s.accounts.deleteDevices(requester.userId, 'all');
        return {};
      },
    }),
    authed({
      method: 'GET',
      path: `${V3}/account/whoami`,
      guests: true,
      rateLimit: 'request',
      handler: ({ requester }) => ({
        user_id: requester.userId,
        device_id: requester.deviceId,
        is_guest: requester.isGuest,
      }),
    }),
  ];
}

/** The user a login names, through `identifier` (m.id.user) or the legacy `user` field. */
function loginUser(body: LoginBody): string {
  if (body.identifier && body.identifier.type !== 'm.id.user') {
    throw new MatrixError(400, 'M_UNKNOWN', `Unsupported identifier type ${body.identifier.type}`);
  }
  const user = body.identifier ? body.identifier.user : body.user;
  if (user === undefined) throw missingParam("Missing required field 'identifier.user'");
  return user;
}

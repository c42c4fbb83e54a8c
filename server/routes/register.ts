/**
 * Registration: POST /register for users (behind UIA) and guests, GET
 * /register/available, and the registration-token validity check.
 */
import { forbidden, MatrixError, missingParam } from '../../spec/errors';
import { registerBody, type RegisterBody } from '../../spec/schemas/register';
import type { Request, Route } from '../http/route';
import type { Services } from '../services';
import { DUMMY, REGISTRATION_TOKEN, type Flow } from '../services/uia';

const V3 = '/_matrix/client/v3';
const REGISTER = `${V3}/register`;

export function registerRoutes(s: Services): Route<any>[] {
  const { registration } = s.config;
  const flows: Flow[] = registration.mode === 'token' ? [[REGISTRATION_TOKEN]] : [[DUMMY]];
  const closed = () => forbidden('Registration has been disabled');

  /** The response to a registration: the new account, signed in on a device unless `inhibit_login`. */
  async function signIn(userId: string, params: RegisterBody): Promise<Record<string, unknown>> {
    const account = { user_id: userId, home_server: s.config.server_name };
    if (params.inhibit_login) return account;
    const session = await s.accounts.startSession(userId, {
      deviceId: params.device_id,
      displayName: params.initial_device_display_name,
      refreshable: params.refresh_token,
    });
    return { ...account, ...session };
  }

  /** kind=guest: no UIA; every field but initial_device_display_name is ignored, as the spec requires. */
  async function registerGuest(body: RegisterBody): Promise<Record<string, unknown>> {
    if (!registration.guest_access) throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is disabled');
    const userId = await s.accounts.createGuest();
    return signIn(userId, { initial_device_display_name: body.initial_device_display_name });
  }

  async function registerUser(body: RegisterBody): Promise<Record<string, unknown>> {
    if (registration.mode === 'closed') throw closed();
    // The checks the spec wants before UIA. A retry of a session that already
    // registered its account may name that account again.
    const registered = body.auth?.session === undefined ? undefined : await s.uia.registeredUserId(body.auth.session);
    if (body.username !== undefined) await s.accounts.availableUserId(body.username, registered);
    if (body.password !== undefined) s.accounts.checkPasswordPolicy(body.password);

    const auth = await s.uia.authenticate({ method: 'POST', path: REGISTER, body }, flows, { secretField: 'password' });
    const params = auth.body;
    let userId = auth.registeredUserId;
    if (userId === undefined) {
      const password = params.password ?? (auth.secretHash === undefined ? undefined : { hash: auth.secretHash });
      if (password === undefined) throw missingParam("Missing required field 'password'");
      userId = params.username === undefined
        ? await s.accounts.createWithGeneratedLocalpart({ password })
        : await s.accounts.create({ localpart: params.username.toLowerCase(), password });
      await s.uia.completeRegistration(auth.sessionId, userId);
    }
    return signIn(userId, params);
  }

  return [
    {
      method: 'POST',
      path: REGISTER,
      auth: 'none',
      rateLimit: 'request',
      body: registerBody,
      handler: ({ query, body }: Request<RegisterBody>) => {
        const kind = query.kind ?? 'user';
        if (kind === 'guest') return registerGuest(body);
        if (kind !== 'user') throw new MatrixError(400, 'M_UNRECOGNIZED', `Unknown account kind '${kind}'`);
        return registerUser(body);
      },
    },
    {
      method: 'GET',
      path: `${V3}/register/available`,
      auth: 'none',
      rateLimit: 'request',
      handler: async ({ query }) => {
        if (registration.mode === 'closed') throw closed();
        if (query.username === undefined) throw missingParam("Missing required parameter 'username'");
        await s.accounts.availableUserId(query.username);
        return { available: true };
      },
    },
    {
      method: 'GET',
      path: '/_matrix/client/v1/register/m.login.registration_token/validity',
      auth: 'none',
      rateLimit: 'request',
      handler: async ({ query }) => {
        if (registration.mode === 'closed') throw closed();
        if (query.token === undefined) throw missingParam("Missing required parameter 'token'");
        return { valid: await s.stores.registrationTokens.isValid(query.token, Date.now()) };
      },
    },
  ];
}

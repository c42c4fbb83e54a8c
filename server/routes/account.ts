/** Account management behind UIA: POST /account/password and /account/deactivate. */
import { missingParam, unknownError } from '../../spec/errors';
import { deactivateBody, passwordChangeBody, type DeactivateBody, type PasswordChangeBody } from '../../spec/schemas/account';
import type { Request, Route } from '../http/route';
import type { Services } from '../services';
import { PASSWORD, type UiaResult } from '../services/uia';

const V3 = '/_matrix/client/v3';

export function accountRoutes(s: Services): Route<any>[] {
  /** The account a request acts on: the token's, else the one its password stage proved. */
  const subject = (auth: UiaResult<object>): string => {
    if (auth.userId === undefined) throw unknownError('Authentication completed without a user');
    return auth.userId;
  };

  return [
    {
      // The token is optional: without one, the password stage names the account.
      method: 'POST',
      path: `${V3}/account/password`,
      auth: 'optional',
      rateLimit: 'request',
      body: passwordChangeBody,
      handler: async ({ body, requester }: Request<PasswordChangeBody>) => {
        if (body.new_password !== undefined) s.accounts.checkPasswordPolicy(body.new_password);
        const auth = await s.uia.authenticate(
          { method: 'POST', path: `${V3}/account/password`, requester, body },
          [[PASSWORD]],
          { secretField: 'new_password' },
        );
        const params = auth.body;
        const password = params.new_password ?? (auth.secretHash === undefined ? undefined : { hash: auth.secretHash });
        if (password === undefined) throw missingParam("Missing required field 'new_password'");
        await s.accounts.changePassword(subject(auth), password, {
          logoutDevices: params.logout_devices ?? true,
          keep: requester && { deviceId: requester.deviceId, accessTokenId: requester.accessTokenId },
        });
        return {};
      },
    },
    {
      method: 'POST',
      path: `${V3}/account/deactivate`,
      auth: 'optional',
      rateLimit: 'request',
      body: deactivateBody,
      handler: async ({ body, requester }: Request<DeactivateBody>) => {
        const auth = await s.uia.authenticate({ method: 'POST', path: `${V3}/account/deactivate`, requester, body }, [[PASSWORD]]);
        await s.accounts.deactivate(subject(auth));
        // No third-party identifiers are ever bound here, so there is nothing to unbind:
        // the spec requires `success` in that case.
        return { id_server_unbind_result: 'success' };
      },
    },
  ];
}

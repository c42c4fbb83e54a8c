/**
 * Synapse's shared-secret registration, GET/POST /_synapse/admin/v1/register, so
 * that register_new_matrix_user and other tooling written for Synapse work here.
 * It works whatever the registration mode; the MAC proves knowledge of
 * `registration.shared_secret`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { forbidden, MatrixError } from '../../spec/errors';
import { sharedSecretRegisterBody, type SharedSecretRegisterBody } from '../../spec/schemas/register';
import type { Request, Route } from '../http/route';
import type { Services } from '../services';

const PATH = '/_synapse/admin/v1/register';
const NONCE_LIFETIME_MS = 60_000;
/** Synapse's user types; accepted (and covered by the MAC) but not stored. */
const USER_TYPES = new Set(['support', 'bot']);

const badRequest = (message: string) => new MatrixError(400, 'M_UNKNOWN', message);

/** Hex HMAC-SHA1 of `nonce \0 username \0 password \0 admin|notadmin [\0 user_type]`, as Synapse computes it. */
function expectedMac(secret: string, body: SharedSecretRegisterBody): string {
  const mac = createHmac('sha1', secret);
  mac.update(body.nonce).update('\0').update(body.username).update('\0').update(body.password).update('\0');
  mac.update(body.admin ? 'admin' : 'notadmin');
  if (body.user_type) mac.update('\0').update(body.user_type);
  return mac.digest('hex');
}

export function synapseAdminRoutes(s: Services): Route<any>[] {
  const nonces = s.stores.sharedSecretNonces;
  const sharedSecret = (): string => {
    const secret = s.config.registration.shared_secret;
    if (!secret) throw badRequest('Shared secret registration is not enabled');
    return secret;
  };

  return [
    {
      method: 'GET',
      path: PATH,
      auth: 'none',
      handler: async () => {
        sharedSecret();
        const now = Date.now();
        await nonces.deleteCreatedBefore(now - NONCE_LIFETIME_MS);
        const nonce = randomBytes(32).toString('hex');
        await nonces.insert(nonce, now);
        return { nonce };
      },
    },
    {
      method: 'POST',
      path: PATH,
      auth: 'none',
      body: sharedSecretRegisterBody,
      handler: async ({ body }: Request<SharedSecretRegisterBody>) => {
        const secret = sharedSecret();
        // Taken whatever happens next, so that a nonce is good for one attempt only.
        const issued = await nonces.take(body.nonce);
        if (issued === undefined || issued <= Date.now() - NONCE_LIFETIME_MS) throw badRequest('unrecognised nonce');
        if (body.username.includes('\0')) throw badRequest('Invalid username');
        if (body.password.includes('\0')) throw badRequest('Invalid password');
        if (body.user_type != null && !USER_TYPES.has(body.user_type)) throw badRequest('Invalid user type');

        const want = Buffer.from(expectedMac(secret, body));
        const got = Buffer.from(body.mac);
        if (got.length !== want.length || !timingSafeEqual(got, want)) throw forbidden('HMAC incorrect');

        const userId = await s.accounts.create({
          localpart: body.username.toLowerCase(),
          password: body.password,
          admin: body.admin ?? false,
          displayName: body.displayname,
          checkPolicy: false,
        });
        const session = await s.accounts.startSession(userId, { refreshable: body.refresh_token });
        return { ...session, home_server: s.config.server_name };
      },
    },
  ];
}

/** POST /account/password and /account/deactivate. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('account management', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ registration: { password_policy: { min_length: 6 } } });
  });
  after(() => server.stop());

  const passwordAuth = (user: TestUser, password = user.password) => ({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: user.userId },
    password,
  });
  const login = (user: string, password: string) =>
    server.request('POST', `${V3}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user }, password } });
  const whoami = (token: string) => server.request('GET', `${V3}/account/whoami`, { token });
  /** A user signed in on two devices: `accessToken` and a second one. */
  const userWithTwoDevices = async (localpart: string) => {
    const user = await createUser(server, localpart, { password: `secret-${localpart}` });
    const other = await server.hs.services.accounts.startSession(user.userId, { deviceId: 'OTHER' });
    return { user, otherToken: other.access_token };
  };

  describe('POST /account/password', () => {
    const change = (token: string | undefined, body: Record<string, unknown>) =>
      server.request('POST', `${V3}/account/password`, { token, body });

    it('asks for the current password through UIA', async () => {
      const { user } = await userWithTwoDevices('pa');
      const res = await change(user.accessToken, { new_password: 'brand-new' });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body.flows, [{ stages: ['m.login.password'] }]);
    });

    it('refuses a wrong current password with 401 M_FORBIDDEN in the UIA body', async () => {
      const { user } = await userWithTwoDevices('pb');
      const res = await change(user.accessToken, { new_password: 'brand-new', auth: passwordAuth(user, 'wrong-one') });
      assert.equal(res.status, 401);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
      assert.deepEqual(res.body.flows, [{ stages: ['m.login.password'] }]);
      assert.equal(typeof res.body.session, 'string');
      assert.equal((await login('pb', user.password)).status, 200);
    });

    it('changes the password, logs out the other devices and keeps this one', async () => {
      const { user, otherToken } = await userWithTwoDevices('pc');
      const res = await change(user.accessToken, { new_password: 'brand-new', auth: passwordAuth(user) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {});
      expectError(await login('pc', user.password), 403, 'M_FORBIDDEN');
      assert.equal((await login('pc', 'brand-new')).status, 200);
      assert.equal((await whoami(user.accessToken)).status, 200);
      expectError(await whoami(otherToken), 401, 'M_UNKNOWN_TOKEN');
      assert.equal(await server.hs.services.stores.devices.get(user.userId, 'OTHER'), undefined);
    });

    it('leaves other devices signed in with logout_devices: false', async () => {
      const { user, otherToken } = await userWithTwoDevices('pd');
      const res = await change(user.accessToken, { new_password: 'brand-new', logout_devices: false, auth: passwordAuth(user) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await whoami(otherToken)).status, 200);
      assert.equal((await login('pd', 'brand-new')).status, 200);
    });

    it('takes the new password from an earlier request of the session', async () => {
      const { user } = await userWithTwoDevices('pe');
      const first = await change(user.accessToken, { new_password: 'from-first' });
      const res = await change(user.accessToken, { auth: { ...passwordAuth(user), session: first.body.session } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await login('pe', 'from-first')).status, 200);
    });

    it('works without a token, for the account the password stage names, logging out every device', async () => {
      const { user, otherToken } = await userWithTwoDevices('pf');
      const res = await change(undefined, { new_password: 'brand-new', auth: passwordAuth(user) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await login('pf', 'brand-new')).status, 200);
      expectError(await whoami(user.accessToken), 401, 'M_UNKNOWN_TOKEN');
      expectError(await whoami(otherToken), 401, 'M_UNKNOWN_TOKEN');
    });

    it('refuses a weak, missing or mistyped new password', async () => {
      const { user } = await userWithTwoDevices('pg');
      expectError(await change(user.accessToken, { new_password: 'short', auth: passwordAuth(user) }), 400, 'M_WEAK_PASSWORD');
      expectError(await change(user.accessToken, { auth: passwordAuth(user) }), 400, 'M_MISSING_PARAM');
      expectError(await change(user.accessToken, { new_password: 12345678, auth: passwordAuth(user) }), 400, 'M_BAD_JSON');
      expectError(await change(user.accessToken, { new_password: 'brand-new', logout_devices: 'no', auth: passwordAuth(user) }), 400, 'M_BAD_JSON');
      assert.equal((await login('pg', user.password)).status, 200);
    });

    it('refuses an unknown token', async () => {
      expectError(await change('wft_nonsense', { new_password: 'brand-new' }), 401, 'M_UNKNOWN_TOKEN');
    });
  });

  describe('POST /account/deactivate', () => {
    const deactivate = (token: string | undefined, body: Record<string, unknown>) =>
      server.request('POST', `${V3}/account/deactivate`, { token, body });

    it('asks for the password, and refuses a wrong one with 401 M_FORBIDDEN', async () => {
      const { user } = await userWithTwoDevices('da');
      const first = await deactivate(user.accessToken, {});
      assert.equal(first.status, 401);
      assert.deepEqual(first.body.flows, [{ stages: ['m.login.password'] }]);
      const wrong = await deactivate(user.accessToken, { auth: { ...passwordAuth(user, 'wrong-one'), session: first.body.session } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.errcode, 'M_FORBIDDEN');
      assert.equal((await whoami(user.accessToken)).status, 200);
    });

    it('deactivates: every token dies at once, login answers M_USER_DEACTIVATED, profile and account data are erased', async () => {
      const { user, otherToken } = await userWithTwoDevices('db');
      assert.equal(await server.hs.services.stores.profiles.getField(user.userId, 'displayname'), 'db');
      const put = await server.request('PUT', `${V3}/user/${encodeURIComponent(user.userId)}/account_data/org.example.x`, {
        token: user.accessToken,
        body: { secret: true },
      });
      assert.equal(put.status, 200);
      const res = await deactivate(user.accessToken, { auth: passwordAuth(user), erase: false });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { id_server_unbind_result: 'success' });
      expectError(await whoami(user.accessToken), 401, 'M_UNKNOWN_TOKEN');
      expectError(await whoami(otherToken), 401, 'M_UNKNOWN_TOKEN');
      expectError(await login('db', user.password), 403, 'M_USER_DEACTIVATED');
      assert.deepEqual(await server.hs.services.stores.profiles.get(user.userId), {});
      assert.deepEqual(await server.hs.services.stores.devices.list(user.userId), []);
      assert.deepEqual(await server.hs.services.stores.accountData.changesSince(user.userId, 0), []);
      const row = await server.hs.services.stores.users.get(user.userId);
      assert.equal(row?.deactivated, true);
      assert.equal(row?.passwordHash, null);
    });

    it('keeps the user ID taken', async () => {
      const { user } = await userWithTwoDevices('dc');
      await deactivate(user.accessToken, { auth: passwordAuth(user) });
      expectError(await server.request('GET', `${V3}/register/available?username=dc`), 400, 'M_USER_IN_USE');
      const again = await server.request('POST', `${V3}/register`, { body: { username: 'dc', password: 'another', auth: { type: 'm.login.dummy' } } });
      expectError(again, 400, 'M_USER_IN_USE');
    });

    it('works without a token, for the account the password stage names', async () => {
      const { user } = await userWithTwoDevices('dd');
      const res = await deactivate(undefined, { auth: passwordAuth(user) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      expectError(await whoami(user.accessToken), 401, 'M_UNKNOWN_TOKEN');
      expectError(await login('dd', user.password), 403, 'M_USER_DEACTIVATED');
    });

    it('refuses mistyped fields with M_BAD_JSON', async () => {
      const { user } = await userWithTwoDevices('de');
      expectError(await deactivate(user.accessToken, { erase: 'yes', auth: passwordAuth(user) }), 400, 'M_BAD_JSON');
      expectError(await deactivate(user.accessToken, { id_server: 5, auth: passwordAuth(user) }), 400, 'M_BAD_JSON');
      assert.equal((await whoami(user.accessToken)).status, 200);
    });
  });
});

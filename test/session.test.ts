/** /login, /refresh, /logout, /logout/all and /account/whoami. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('login and logout', () => {
  let server: TestServer;
  let alice: TestUser;
  before(async () => {
    server = await startServer({ auth: { refreshable_access_token_lifetime_ms: 1000 } });
    alice = await createUser(server, 'alice', { password: 'correct horse' });
  });
  after(() => server.stop());

  const login = (body: Record<string, unknown>) =>
    server.request('POST', `${V3}/login`, { body: { type: 'm.login.password', password: 'correct horse', ...body } });
  const whoami = (token: string) => server.request('GET', `${V3}/account/whoami`, { token });

  it('advertises m.login.password', async () => {
    const res = await server.request('GET', `${V3}/login`);
    assert.deepEqual(res.body, { flows: [{ type: 'm.login.password' }] });
  });

  it('logs in by localpart, by full user ID, in any case, and by the legacy user field', async () => {
    for (const body of [
      { identifier: { type: 'm.id.user', user: 'alice' } },
      { identifier: { type: 'm.id.user', user: '@alice:localhost' } },
      { identifier: { type: 'm.id.user', user: 'ALICE' } },
      { user: 'alice' },
    ]) {
      const res = await login(body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user_id, '@alice:localhost');
      assert.equal(res.body.home_server, 'localhost');
      assert.equal(typeof res.body.device_id, 'string');
      assert.equal((await whoami(res.body.access_token)).body.user_id, '@alice:localhost');
    }
  });

  it('refuses a wrong password or unknown user with 403 M_FORBIDDEN', async () => {
    expectError(await login({ identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong' }), 403, 'M_FORBIDDEN');
    expectError(await login({ identifier: { type: 'm.id.user', user: 'nobody' } }), 403, 'M_FORBIDDEN');
    expectError(await login({ identifier: { type: 'm.id.user', user: '@alice:elsewhere' } }), 403, 'M_FORBIDDEN');
  });

  it('refuses unknown login types and identifiers, and a missing password', async () => {
    expectError(await login({ type: 'm.login.foo', user: 'alice' }), 400, 'M_UNKNOWN');
    expectError(await login({ identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b' } }), 400, 'M_UNKNOWN');
    const res = await server.request('POST', `${V3}/login`, { body: { type: 'm.login.password', user: 'alice' } });
    expectError(res, 400, 'M_MISSING_PARAM');
  });

  it('reuses a named device and revokes the tokens it had', async () => {
    const first = await login({ user: 'alice', device_id: 'PHONE', initial_device_display_name: 'Phone' });
    assert.equal(first.body.device_id, 'PHONE');
    const second = await login({ user: 'alice', device_id: 'PHONE', initial_device_display_name: 'Renamed' });
    assert.equal(second.body.device_id, 'PHONE');
    expectError(await whoami(first.body.access_token), 401, 'M_UNKNOWN_TOKEN');
    assert.equal((await whoami(second.body.access_token)).body.device_id, 'PHONE');
    const device = await server.hs.services.stores.devices.get(alice.userId, 'PHONE');
    assert.equal(device?.displayName, 'Phone', 'initial_device_display_name is ignored for a known device');
  });

  it('logout revokes the token and deletes its device', async () => {
    const session = await login({ user: 'alice' });
    const out = await server.request('POST', `${V3}/logout`, { token: session.body.access_token });
    assert.equal(out.status, 200);
    expectError(await whoami(session.body.access_token), 401, 'M_UNKNOWN_TOKEN');
    assert.equal(await server.hs.services.stores.devices.get(alice.userId, session.body.device_id), undefined);
  });

  it('logout/all revokes every token of the user', async () => {
    const bob = await createUser(server, 'bob', { password: 'pw' });
    const other = await server.request('POST', `${V3}/login`, { body: { type: 'm.login.password', user: 'bob', password: 'pw' } });
    assert.equal((await server.request('POST', `${V3}/logout/all`, { token: bob.accessToken })).status, 200);
    expectError(await whoami(bob.accessToken), 401, 'M_UNKNOWN_TOKEN');
    expectError(await whoami(other.body.access_token), 401, 'M_UNKNOWN_TOKEN');
    assert.deepEqual(await server.hs.services.stores.devices.list(bob.userId), []);
  });

  it('logout requires a token', async () => {
    expectError(await server.request('POST', `${V3}/logout`), 401, 'M_MISSING_TOKEN');
  });

  describe('refresh tokens', () => {
    it('are issued only when asked for, with expires_in_ms', async () => {
      const plain = await login({ user: 'alice' });
      assert.equal(plain.body.refresh_token, undefined);
      assert.equal(plain.body.expires_in_ms, undefined);
      const refreshable = await login({ user: 'alice', refresh_token: true });
      assert.equal(typeof refreshable.body.refresh_token, 'string');
      assert.equal(refreshable.body.expires_in_ms, 1000);
    });

    it('an expired access token answers M_UNKNOWN_TOKEN with soft_logout true, and refreshing restores access', async () => {
      const session = await login({ user: 'alice', refresh_token: true });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const expired = await whoami(session.body.access_token);
      expectError(expired, 401, 'M_UNKNOWN_TOKEN');
      assert.equal(expired.body.soft_logout, true);
      const refreshed = await server.request('POST', `${V3}/refresh`, { body: { refresh_token: session.body.refresh_token } });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.notEqual(refreshed.body.refresh_token, session.body.refresh_token);
      const who = await whoami(refreshed.body.access_token);
      assert.equal(who.body.device_id, session.body.device_id);
    });

    it('the old refresh token works until the new access token is used, then dies', async () => {
      const session = await login({ user: 'alice', refresh_token: true });
      const refresh = (token: string) => server.request('POST', `${V3}/refresh`, { body: { refresh_token: token } });
      const first = await refresh(session.body.refresh_token);
      assert.equal(first.status, 200);
      // The response was "lost": the client may repeat the refresh with the old token.
      const retry = await refresh(session.body.refresh_token);
      assert.equal(retry.status, 200);
      assert.equal((await whoami(retry.body.access_token)).status, 200);
      expectError(await refresh(session.body.refresh_token), 401, 'M_UNKNOWN_TOKEN');
      assert.equal((await refresh(retry.body.refresh_token)).status, 200);
    });

    it('refuses an unknown refresh token and a missing one', async () => {
      expectError(await server.request('POST', `${V3}/refresh`, { body: { refresh_token: 'wfr_nope' } }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('POST', `${V3}/refresh`, { body: {} }), 400, 'M_MISSING_PARAM');
    });
  });
});

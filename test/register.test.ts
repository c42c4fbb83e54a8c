/** POST /register (users and guests), /register/available and registration-token validity. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer } from './helpers/server';

const V3 = '/_matrix/client/v3';
const VALIDITY = '/_matrix/client/v1/register/m.login.registration_token/validity';

const register = (server: TestServer, body: Record<string, unknown>, kind?: string) =>
  server.request('POST', `${V3}/register${kind ? `?kind=${kind}` : ''}`, { body });
const dummy = { type: 'm.login.dummy' };
const whoami = (server: TestServer, token: string) => server.request('GET', `${V3}/account/whoami`, { token });

describe('registration', () => {
  describe('open', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ registration: { mode: 'open', password_policy: { min_length: 4 } } });
    });
    after(() => server.stop());

    it('offers the dummy flow and answers 401 to a request without auth', async () => {
      const res = await register(server, { username: 'first', password: 'pw-first' });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body.flows, [{ stages: ['m.login.dummy'] }]);
      assert.equal(typeof res.body.session, 'string');
    });

    it('registers a lower-cased user, signed in on a new device with a working token', async () => {
      const res = await register(server, { username: 'Erin', password: 'pw-erin', auth: dummy, initial_device_display_name: 'Laptop' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user_id, '@erin:localhost');
      assert.equal(res.body.home_server, 'localhost');
      assert.equal(typeof res.body.device_id, 'string');
      assert.equal(res.body.refresh_token, undefined);
      assert.equal(res.body.expires_in_ms, undefined);
      const who = await whoami(server, res.body.access_token);
      assert.deepEqual(who.body, { user_id: '@erin:localhost', device_id: res.body.device_id, is_guest: false });
      const device = await server.request('GET', `${V3}/devices/${res.body.device_id}`, { token: res.body.access_token });
      assert.equal(device.body.display_name, 'Laptop');
      // Signing in again with the chosen password works.
      const login = await server.request('POST', `${V3}/login`, { body: { type: 'm.login.password', user: 'erin', password: 'pw-erin' } });
      assert.equal(login.status, 200, JSON.stringify(login.body));
    });

    it('sets the displayname to the localpart, as Synapse does', async () => {
      await register(server, { username: 'frank', password: 'pw-frank', auth: dummy });
      assert.equal(await server.hs.services.stores.profiles.getField('@frank:localhost', 'displayname'), 'frank');
    });

    it('uses a given device ID and issues a refresh token when asked', async () => {
      const res = await register(server, { username: 'gina', password: 'pw-gina', device_id: 'GINAPHONE', refresh_token: true, auth: dummy });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.device_id, 'GINAPHONE');
      assert.equal(typeof res.body.refresh_token, 'string');
      assert.equal(typeof res.body.expires_in_ms, 'number');
    });

    it('returns no token or device with inhibit_login', async () => {
      const res = await register(server, { username: 'hank', password: 'pw-hank', inhibit_login: true, auth: dummy });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { user_id: '@hank:localhost', home_server: 'localhost' });
      assert.deepEqual(await server.hs.services.stores.devices.list('@hank:localhost'), []);
    });

    it('picks a localpart when no username is given', async () => {
      const res = await register(server, { password: 'pw-anon', auth: dummy });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.user_id, /^@\d+:localhost$/);
    });

    it('refuses invalid and taken usernames before UIA', async () => {
      for (const username of ['bad name', 'bad:colon', 'é', '', 'x'.repeat(260)]) {
        expectError(await register(server, { username, password: 'pw-ok-1' }), 400, 'M_INVALID_USERNAME');
      }
      await createUser(server, 'taken');
      expectError(await register(server, { username: 'taken', password: 'pw-ok-1' }), 400, 'M_USER_IN_USE');
      expectError(await register(server, { username: 'TAKEN', password: 'pw-ok-1', auth: dummy }), 400, 'M_USER_IN_USE');
    });

    it('refuses a weak password before UIA with M_WEAK_PASSWORD', async () => {
      expectError(await register(server, { username: 'ivy', password: 'pw' }), 400, 'M_WEAK_PASSWORD');
    });

    it('needs a password once UIA is complete', async () => {
      expectError(await register(server, { username: 'jack', auth: dummy }), 400, 'M_MISSING_PARAM');
    });

    it('refuses fields of the wrong type with M_BAD_JSON', async () => {
      for (const body of [
        { username: 5, password: 'pw-ok-1', auth: dummy },
        { username: 'kim', password: ['x'], auth: dummy },
        { username: 'kim', password: 'pw-ok-1', inhibit_login: 'yes', auth: dummy },
        { username: 'kim', password: 'pw-ok-1', refresh_token: 1, auth: dummy },
        { username: 'kim', password: 'pw-ok-1', auth: 'dummy' },
      ]) {
        expectError(await register(server, body), 400, 'M_BAD_JSON');
      }
    });

    it('refuses an unknown kind', async () => {
      const res = await register(server, { username: 'kim', password: 'pw-ok-1', auth: dummy }, 'robot');
      assert.equal(res.status, 400);
    });

    it('logs in again, instead of failing, when a completed registration session is retried', async () => {
      const first = await register(server, { username: 'lena', password: 'pw-lena' });
      const body = { username: 'lena', password: 'pw-lena', auth: { ...dummy, session: first.body.session } };
      const done = await register(server, body);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const again = await register(server, body);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.user_id, '@lena:localhost');
      assert.notEqual(again.body.access_token, done.body.access_token);
      // A new session for the same name is refused.
      expectError(await register(server, { username: 'lena', password: 'pw-lena', auth: dummy }), 400, 'M_USER_IN_USE');
    });

    it('refuses guests unless guest access is on', async () => {
      expectError(await register(server, {}, 'guest'), 403, 'M_GUEST_ACCESS_FORBIDDEN');
    });

    describe('GET /register/available', () => {
      const available = (username?: string) =>
        server.request('GET', `${V3}/register/available${username === undefined ? '' : `?username=${encodeURIComponent(username)}`}`);

      it('answers available for a free name, in any case', async () => {
        const res = await available('Nobody-Yet');
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { available: true });
      });

      it('answers M_USER_IN_USE, M_INVALID_USERNAME and M_MISSING_PARAM', async () => {
        await createUser(server, 'occupied');
        expectError(await available('occupied'), 400, 'M_USER_IN_USE');
        expectError(await available('not valid!'), 400, 'M_INVALID_USERNAME');
        expectError(await available(), 400, 'M_MISSING_PARAM');
      });
    });
  });

  describe('closed', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ registration: { mode: 'closed' } });
    });
    after(() => server.stop());

    it('refuses registration, availability and token checks with 403 M_FORBIDDEN', async () => {
      expectError(await register(server, { username: 'mia', password: 'pw-mia', auth: dummy }), 403, 'M_FORBIDDEN');
      expectError(await register(server, { username: 'mia', password: 'pw-mia' }), 403, 'M_FORBIDDEN');
      expectError(await server.request('GET', `${V3}/register/available?username=mia`), 403, 'M_FORBIDDEN');
      expectError(await server.request('GET', `${VALIDITY}?token=abc`), 403, 'M_FORBIDDEN');
    });
  });

  describe('guests', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ registration: { mode: 'closed', guest_access: true } });
    });
    after(() => server.stop());

    it('registers a guest (even with registration closed), ignoring every field but the display name', async () => {
      const res = await register(server, { username: 'wanted', password: 'pw', device_id: 'MINE', initial_device_display_name: 'Guest phone' }, 'guest');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.user_id, /^@\d+:localhost$/);
      assert.notEqual(res.body.device_id, 'MINE');
      const who = await whoami(server, res.body.access_token);
      assert.equal(who.body.is_guest, true);
      const user = await server.hs.services.stores.users.get(res.body.user_id);
      assert.equal(user?.isGuest, true);
      assert.equal(user?.passwordHash, null);
      const devices = await server.request('GET', `${V3}/devices`, { token: res.body.access_token });
      assert.equal(devices.status, 200);
      assert.equal(devices.body.devices[0].display_name, 'Guest phone');
    });

    it('keeps guests off routes not marked for them', async () => {
      const guest = await register(server, {}, 'guest');
      const token = guest.body.access_token;
      expectError(await server.request('POST', `${V3}/account/password`, { token, body: { new_password: 'x' } }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
      expectError(await server.request('POST', `${V3}/account/deactivate`, { token, body: {} }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
      expectError(await server.request('DELETE', `${V3}/devices/${guest.body.device_id}`, { token, body: {} }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
      expectError(await server.request('POST', `${V3}/delete_devices`, { token, body: { devices: [] } }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
    });
  });

  describe('with registration tokens', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ registration: { mode: 'token' }, auth: { uia_session_lifetime_ms: 1000 } });
      const tokens = server.hs.services.stores.registrationTokens;
      await tokens.insert({ token: 'once', usesAllowed: 1 });
      await tokens.insert({ token: 'unlimited' });
      await tokens.insert({ token: 'expired', expiryTs: Date.now() - 1000 });
      await tokens.insert({ token: 'spent', usesAllowed: 0 });
      await tokens.insert({ token: 'lapsing', usesAllowed: 1 });
    });
    after(() => server.stop());

    const validity = async (token: string) => (await server.request('GET', `${VALIDITY}?token=${token}`)).body.valid;
    const tokenAuth = (token: string, session?: string) => ({ type: 'm.login.registration_token', token, ...(session && { session }) });

    it('offers only the registration-token flow', async () => {
      const res = await register(server, { username: 'nina', password: 'pw-nina' });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body.flows, [{ stages: ['m.login.registration_token'] }]);
      const viaDummy = await register(server, { username: 'nina', password: 'pw-nina', auth: dummy });
      assert.equal(viaDummy.status, 401);
      assert.equal(viaDummy.body.errcode, 'M_FORBIDDEN');
    });

    it('reports validity: unknown, expired and used-up tokens are invalid', async () => {
      assert.equal(await validity('unlimited'), true);
      assert.equal(await validity('nope'), false);
      assert.equal(await validity('expired'), false);
      assert.equal(await validity('spent'), false);
      expectError(await server.request('GET', VALIDITY), 400, 'M_MISSING_PARAM');
    });

    it('counts a completed token stage as a pending use, and the registration as a completed one', async () => {
      assert.equal(await validity('once'), true);
      // The stage completes, but registration fails for want of a password: the use stays pending.
      const stalled = await register(server, { username: 'olga', auth: tokenAuth('once') });
      expectError(stalled, 400, 'M_MISSING_PARAM');
      assert.equal(await validity('once'), false);
      const row = await server.hs.services.stores.registrationTokens.get('once');
      assert.deepEqual([row?.pending, row?.completed], [1, 0]);
      // Another session cannot use the token meanwhile.
      const other = await register(server, { username: 'pete', password: 'pw-pete', auth: tokenAuth('once') });
      assert.equal(other.status, 401);
      assert.equal(other.body.errcode, 'M_UNAUTHORIZED');
    });

    it('registers with a valid token, and the use is then completed', async () => {
      const first = await register(server, { username: 'quinn', password: 'pw-quinn' });
      const res = await register(server, { username: 'quinn', password: 'pw-quinn', auth: tokenAuth('unlimited', first.body.session) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.user_id, '@quinn:localhost');
      const row = await server.hs.services.stores.registrationTokens.get('unlimited');
      assert.deepEqual([row?.pending, row?.completed], [0, 1]);
    });

    it('refuses invalid tokens inside the 401 and malformed ones with 400', async () => {
      for (const token of ['nope', 'expired', 'spent']) {
        const res = await register(server, { username: 'rosa', password: 'pw-rosa', auth: tokenAuth(token) });
        assert.equal(res.status, 401, token);
        assert.equal(res.body.errcode, 'M_UNAUTHORIZED');
      }
      expectError(await register(server, { username: 'rosa', password: 'pw-rosa', auth: { type: 'm.login.registration_token' } }), 400, 'M_MISSING_PARAM');
      expectError(await register(server, { username: 'rosa', password: 'pw-rosa', auth: tokenAuth('x'.repeat(65)) }), 400, 'M_INVALID_PARAM');
    });

    it('holds one pending use per session, however many requests complete the stage at once', async () => {
      await server.hs.services.stores.registrationTokens.insert({ token: 'busy' });
      const first = await register(server, { username: 'tess' });
      // No password: each request passes the token stage, then fails, so the use stays pending.
      const results = await Promise.all(
        Array.from({ length: 6 }, () => register(server, { username: 'tess', auth: tokenAuth('busy', first.body.session) })),
      );
      for (const res of results) expectError(res, 400, 'M_MISSING_PARAM');
      const row = await server.hs.services.stores.registrationTokens.get('busy');
      assert.deepEqual([row?.pending, row?.completed], [1, 0]);
    });

    it('gives a pending use back when its session expires unused', async () => {
      const stalled = await register(server, { username: 'sam', auth: tokenAuth('lapsing') });
      expectError(stalled, 400, 'M_MISSING_PARAM');
      assert.equal(await validity('lapsing'), false);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      // Expired sessions are swept when a new one starts.
      await register(server, { username: 'sam', password: 'pw-sam' });
      assert.equal(await validity('lapsing'), true);
    });
  });
});

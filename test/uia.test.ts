/** User-Interactive Authentication, through the endpoints that use it. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const PASSWORD_FLOWS = [{ stages: ['m.login.password'] }];

describe('user-interactive authentication', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startServer({ auth: { uia_session_lifetime_ms: 1000 } });
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const passwordAuth = (user: TestUser, extra: Record<string, unknown> = {}) => ({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: user.userId },
    password: user.password,
    ...extra,
  });
  /** A device of `user` to delete, and the DELETE request for it. */
  const deleteDevice = async (user: TestUser, body: Record<string, unknown>, deviceId?: string) => {
    const target = deviceId ?? (await server.hs.services.accounts.startSession(user.userId, {})).device_id;
    return server.request('DELETE', `${V3}/devices/${target}`, { token: user.accessToken, body });
  };

  it('answers a request without auth with 401, the flows, params, a session and no error', async () => {
    const res = await deleteDevice(alice, {});
    assert.equal(res.status, 401);
    assert.deepEqual(res.body.flows, PASSWORD_FLOWS);
    assert.deepEqual(res.body.params, {});
    assert.deepEqual(res.body.completed, []);
    assert.equal(typeof res.body.session, 'string');
    assert.equal(res.body.errcode, undefined);
    assert.equal(res.body.error, undefined);
  });

  it('reports a wrong password inside the 401 with M_FORBIDDEN, keeping the session', async () => {
    const first = await deleteDevice(alice, {}, 'NOPE1');
    const res = await deleteDevice(alice, { auth: passwordAuth(alice, { password: 'wrong', session: first.body.session }) }, 'NOPE1');
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    assert.equal(typeof res.body.error, 'string');
    assert.equal(res.body.session, first.body.session);
    assert.deepEqual(res.body.flows, PASSWORD_FLOWS);
    assert.deepEqual(res.body.completed, []);
    // The client may try again in the same session.
    const retry = await deleteDevice(alice, { auth: passwordAuth(alice, { session: first.body.session }) }, 'NOPE1');
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
  });

  it('succeeds at once on a first request that carries a complete auth dict', async () => {
    const res = await deleteDevice(alice, { auth: passwordAuth(alice) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const register = await server.request('POST', `${V3}/register`, {
      body: { username: 'carol', password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    assert.equal(register.status, 200, JSON.stringify(register.body));
  });

  it('accepts the user as localpart, full user ID (any case) or the legacy user field', async () => {
    for (const who of [{ identifier: { type: 'm.id.user', user: 'alice' } }, { identifier: { type: 'm.id.user', user: '@ALICE:localhost' } }, { user: 'alice' }]) {
      const res = await deleteDevice(alice, { auth: { type: 'm.login.password', password: alice.password, ...who } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  });

  it("refuses a password stage for another user than the token's, even with that user's password", async () => {
    const res = await deleteDevice(alice, { auth: passwordAuth(bob) });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
  });

  it('refuses an unknown user, a user of another server and a third-party identifier inside the 401', async () => {
    for (const auth of [
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: '@alice:elsewhere' }, password: alice.password },
      { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' }, password: 'x' },
    ]) {
      const res = await deleteDevice(alice, { auth });
      assert.equal(res.status, 401);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
    }
    const unauthenticated = await server.request('POST', `${V3}/account/deactivate`, {
      body: { auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: 'x' } },
    });
    assert.equal(unauthenticated.status, 401);
    assert.equal(unauthenticated.body.errcode, 'M_FORBIDDEN');
  });

  it('refuses a stage that no offered flow has, inside the 401', async () => {
    const res = await deleteDevice(alice, { auth: { type: 'm.login.dummy' } });
    assert.equal(res.status, 401);
    assert.equal(res.body.errcode, 'M_FORBIDDEN');
    assert.deepEqual(res.body.completed, []);
  });

  it('answers malformed auth dicts with the usual 400s', async () => {
    expectError(await deleteDevice(alice, { auth: { type: 'm.login.password', user: 'alice' } }), 400, 'M_MISSING_PARAM');
    expectError(await deleteDevice(alice, { auth: { type: 'm.login.password', password: 'x' } }), 400, 'M_MISSING_PARAM');
    expectError(await deleteDevice(alice, { auth: { type: 'm.login.password', user: 'alice', password: 5 } }), 400, 'M_BAD_JSON');
    expectError(await deleteDevice(alice, { auth: 'password' }), 400, 'M_BAD_JSON');
    expectError(await deleteDevice(alice, { auth: { type: 7 } }), 400, 'M_BAD_JSON');
    expectError(await deleteDevice(alice, { auth: { session: ['x'] } }), 400, 'M_BAD_JSON');
  });

  it('refuses an unknown session with 400', async () => {
    expectError(await deleteDevice(alice, { auth: passwordAuth(alice, { session: 'no-such-session' }) }), 400, 'M_UNKNOWN');
  });

  it('refuses a session reused on a different endpoint, device or user', async () => {
    const first = await deleteDevice(alice, {}, 'TARGET1');
    const session = first.body.session;
    // Another device of the same user: another path.
    expectError(await deleteDevice(alice, { auth: passwordAuth(alice, { session }) }, 'TARGET2'), 403, 'M_FORBIDDEN');
    // Another endpoint.
    const other = await server.request('POST', `${V3}/delete_devices`, {
      token: alice.accessToken,
      body: { devices: ['TARGET1'], auth: passwordAuth(alice, { session }) },
    });
    expectError(other, 403, 'M_FORBIDDEN');
    const password = await server.request('POST', `${V3}/account/password`, {
      token: alice.accessToken,
      body: { new_password: 'stolen', auth: passwordAuth(alice, { session }) },
    });
    expectError(password, 403, 'M_FORBIDDEN');
    // Another user, same path.
    expectError(await deleteDevice(bob, { auth: passwordAuth(bob, { session }) }, 'TARGET1'), 403, 'M_FORBIDDEN');
    // The session still works where it began.
    assert.equal((await deleteDevice(alice, { auth: passwordAuth(alice, { session }) }, 'TARGET1')).status, 200);
  });

  it('returns the result again when a completed session is retried with only its ID', async () => {
    const first = await deleteDevice(alice, {}, 'AGAIN');
    const done = await deleteDevice(alice, { auth: passwordAuth(alice, { session: first.body.session }) }, 'AGAIN');
    assert.equal(done.status, 200);
    const retried = await deleteDevice(alice, { auth: { session: first.body.session } }, 'AGAIN');
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    const stageAgain = await deleteDevice(alice, { auth: { type: 'm.login.password', session: first.body.session } }, 'AGAIN');
    assert.equal(stageAgain.status, 200, JSON.stringify(stageAgain.body));
  });

  it('answers an incomplete session retried with only its ID with the 401 again', async () => {
    const first = await deleteDevice(alice, {}, 'PENDING');
    const res = await deleteDevice(alice, { auth: { session: first.body.session } }, 'PENDING');
    assert.equal(res.status, 401);
    assert.equal(res.body.session, first.body.session);
    assert.deepEqual(res.body.completed, []);
  });

  it('carries fields of an earlier request over to a final one that omits them', async () => {
    const first = await server.request('POST', `${V3}/register`, { body: { username: 'dave', password: 'dave-pw', device_id: 'DAVEDEV' } });
    assert.equal(first.status, 401);
    const stored = await server.hs.services.stores.uiaSessions.get(first.body.session);
    assert.ok(stored);
    assert.ok(!JSON.stringify(stored.params).includes('dave-pw'), 'the plain password is not stored');
    const done = await server.request('POST', `${V3}/register`, { body: { auth: { type: 'm.login.dummy', session: first.body.session } } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.user_id, '@dave:localhost');
    assert.equal(done.body.device_id, 'DAVEDEV');
    const login = await server.request('POST', `${V3}/login`, { body: { type: 'm.login.password', user: 'dave', password: 'dave-pw' } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
  });

  it('expires sessions after auth.uia_session_lifetime_ms', async () => {
    const first = await deleteDevice(alice, {}, 'LATE');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expectError(await deleteDevice(alice, { auth: passwordAuth(alice, { session: first.body.session }) }, 'LATE'), 400, 'M_UNKNOWN');
  });
});

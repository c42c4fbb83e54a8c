/** Device management: GET/PUT/DELETE /devices/{deviceId}, GET /devices, POST /delete_devices. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('device management', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const passwordAuth = (user: TestUser) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password });
  /** Signs `user` in on a new device named `deviceId`; returns its access token. */
  const signIn = async (user: TestUser, deviceId: string, displayName?: string) =>
    (await server.hs.services.accounts.startSession(user.userId, { deviceId, displayName })).access_token;

  it('lists the devices with their names and when and where they were last seen', async () => {
    await signIn(alice, 'PHONE', 'Phone');
    const res = await server.request('GET', `${V3}/devices`, { token: alice.accessToken });
    assert.equal(res.status, 200);
    const byId = new Map(res.body.devices.map((d: { device_id: string }) => [d.device_id, d]));
    assert.deepEqual(byId.get('PHONE'), { device_id: 'PHONE', display_name: 'Phone' });
    const current = byId.get(alice.deviceId) as Record<string, unknown>;
    assert.equal(current.last_seen_ip, '127.0.0.1');
    assert.equal(typeof current.last_seen_ts, 'number');
    assert.equal(current.display_name, undefined);
    assert.ok(!byId.has(bob.deviceId));
  });

  it('gets one device, and 404 M_NOT_FOUND for an unknown or foreign one', async () => {
    await signIn(alice, 'TABLET', 'Tablet');
    const res = await server.request('GET', `${V3}/devices/TABLET`, { token: alice.accessToken });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { device_id: 'TABLET', display_name: 'Tablet' });
    expectError(await server.request('GET', `${V3}/devices/NOSUCH`, { token: alice.accessToken }), 404, 'M_NOT_FOUND');
    expectError(await server.request('GET', `${V3}/devices/${bob.deviceId}`, { token: alice.accessToken }), 404, 'M_NOT_FOUND');
  });

  it('renames a device, leaves it alone without display_name, and 404s an unknown one', async () => {
    await signIn(alice, 'RENAME', 'Old');
    const put = (deviceId: string, body: Record<string, unknown>) =>
      server.request('PUT', `${V3}/devices/${deviceId}`, { token: alice.accessToken, body });
    const res = await put('RENAME', { display_name: 'New' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    assert.equal((await server.hs.services.stores.devices.get(alice.userId, 'RENAME'))?.displayName, 'New');
    assert.equal((await put('RENAME', {})).status, 200);
    assert.equal((await server.hs.services.stores.devices.get(alice.userId, 'RENAME'))?.displayName, 'New');
    expectError(await put('NOSUCH', { display_name: 'x' }), 404, 'M_NOT_FOUND');
    expectError(await put('NOSUCH', {}), 404, 'M_NOT_FOUND');
    expectError(await put(bob.deviceId, { display_name: 'hijacked' }), 404, 'M_NOT_FOUND');
    expectError(await put('RENAME', { display_name: 7 }), 400, 'M_BAD_JSON');
  });

  it('needs a valid access token', async () => {
    expectError(await server.request('GET', `${V3}/devices`), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('GET', `${V3}/devices`, { token: 'wft_nonsense' }), 401, 'M_UNKNOWN_TOKEN');
    expectError(await server.request('DELETE', `${V3}/devices/X`, { body: {} }), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('POST', `${V3}/delete_devices`, { body: { devices: [] } }), 401, 'M_MISSING_TOKEN');
  });

  describe('DELETE /devices/{deviceId}', () => {
    it('asks for the password, then deletes the device and its tokens', async () => {
      const token = await signIn(alice, 'DOOMED');
      const first = await server.request('DELETE', `${V3}/devices/DOOMED`, { token: alice.accessToken });
      assert.equal(first.status, 401);
      assert.deepEqual(first.body.flows, [{ stages: ['m.login.password'] }]);
      const res = await server.request('DELETE', `${V3}/devices/DOOMED`, {
        token: alice.accessToken,
        body: { auth: { ...passwordAuth(alice), session: first.body.session } },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {});
      expectError(await server.request('GET', `${V3}/account/whoami`, { token }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('GET', `${V3}/devices/DOOMED`, { token: alice.accessToken }), 404, 'M_NOT_FOUND');
    });

    it('refuses a wrong password with 401 M_FORBIDDEN and keeps the device', async () => {
      const token = await signIn(alice, 'KEPT');
      const res = await server.request('DELETE', `${V3}/devices/KEPT`, {
        token: alice.accessToken,
        body: { auth: { ...passwordAuth(alice), password: 'wrong' } },
      });
      assert.equal(res.status, 401);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
      assert.equal((await server.request('GET', `${V3}/account/whoami`, { token })).status, 200);
    });

    it("succeeds for a device already gone, and cannot touch another user's device", async () => {
      const gone = await server.request('DELETE', `${V3}/devices/NEVER`, { token: alice.accessToken, body: { auth: passwordAuth(alice) } });
      assert.equal(gone.status, 200, JSON.stringify(gone.body));
      const foreign = await server.request('DELETE', `${V3}/devices/${bob.deviceId}`, { token: alice.accessToken, body: { auth: passwordAuth(alice) } });
      assert.equal(foreign.status, 200);
      assert.equal((await server.request('GET', `${V3}/account/whoami`, { token: bob.accessToken })).status, 200);
    });

    it('may delete the device making the request', async () => {
      const carol = await createUser(server, 'carol');
      const res = await server.request('DELETE', `${V3}/devices/${carol.deviceId}`, { token: carol.accessToken, body: { auth: passwordAuth(carol) } });
      assert.equal(res.status, 200);
      expectError(await server.request('GET', `${V3}/devices`, { token: carol.accessToken }), 401, 'M_UNKNOWN_TOKEN');
    });
  });

  describe('POST /delete_devices', () => {
    const deleteDevices = (body: Record<string, unknown>) => server.request('POST', `${V3}/delete_devices`, { token: alice.accessToken, body });

    it('asks for the password, then deletes every listed device', async () => {
      const tokens = [await signIn(alice, 'BULK1'), await signIn(alice, 'BULK2')];
      const first = await deleteDevices({ devices: ['BULK1', 'BULK2', 'NEVER'] });
      assert.equal(first.status, 401);
      assert.deepEqual(first.body.flows, [{ stages: ['m.login.password'] }]);
      const res = await deleteDevices({ devices: ['BULK1', 'BULK2', 'NEVER'], auth: { ...passwordAuth(alice), session: first.body.session } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (const token of tokens) expectError(await server.request('GET', `${V3}/account/whoami`, { token }), 401, 'M_UNKNOWN_TOKEN');
      assert.equal((await server.request('GET', `${V3}/account/whoami`, { token: alice.accessToken })).status, 200);
    });

    it('refuses a missing or mistyped device list before UIA', async () => {
      expectError(await deleteDevices({}), 400, 'M_MISSING_PARAM');
      expectError(await deleteDevices({ devices: 'BULK1' }), 400, 'M_BAD_JSON');
      expectError(await deleteDevices({ devices: [1, 2] }), 400, 'M_BAD_JSON');
    });

    it('refuses a wrong password with 401 M_FORBIDDEN', async () => {
      await signIn(alice, 'SAFE');
      const res = await deleteDevices({ devices: ['SAFE'], auth: { ...passwordAuth(alice), password: 'wrong' } });
      assert.equal(res.status, 401);
      assert.equal(res.body.errcode, 'M_FORBIDDEN');
      assert.ok(await server.hs.services.stores.devices.get(alice.userId, 'SAFE'));
    });
  });
});

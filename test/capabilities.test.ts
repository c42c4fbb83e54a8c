import assert from 'node:assert/strict';
import { isSupportedRoomVersion, ROOM_VERSIONS } from '../spec/room-versions';
import { createUser, expectError, startServer, type TestServer } from './helpers/server';

const CAPABILITIES = '/_matrix/client/v3/capabilities';

const ALL_STABLE = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i + 1), 'stable']));

describe('capabilities', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  it('needs an access token', async () => {
    expectError(await server.request('GET', CAPABILITIES), 401, 'M_MISSING_TOKEN');
  });

  it('rejects an unknown access token', async () => {
    expectError(await server.request('GET', CAPABILITIES, { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
  });

  it('describes what a user may do', async () => {
    const alice = await createUser(server, 'alice');
    const res = await server.request('GET', CAPABILITIES, { token: alice.accessToken });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      capabilities: {
        'm.change_password': { enabled: true },
        'm.room_versions': { default: '12', available: ALL_STABLE },
        'm.profile_fields': { enabled: true },
        'm.set_displayname': { enabled: true },
        'm.set_avatar_url': { enabled: true },
        'm.3pid_changes': { enabled: false },
        'm.get_login_token': { enabled: false },
      },
    });
  });

  it('tells a guest it may change only its displayname', async () => {
    const userId = await server.hs.services.accounts.createGuest();
    const { access_token } = await server.hs.services.accounts.startSession(userId, {});
    const res = await server.request('GET', CAPABILITIES, { token: access_token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.capabilities['m.profile_fields'], { enabled: true, allowed: ['displayname'] });
    assert.deepEqual(res.body.capabilities['m.set_displayname'], { enabled: true });
    assert.deepEqual(res.body.capabilities['m.set_avatar_url'], { enabled: false });
  });

  it('lists room versions from the one constant', () => {
    assert.deepEqual(ROOM_VERSIONS.available, ALL_STABLE);
    assert.ok(isSupportedRoomVersion(ROOM_VERSIONS.default));
    assert.ok(isSupportedRoomVersion('1'));
    assert.ok(!isSupportedRoomVersion('13'));
    assert.ok(!isSupportedRoomVersion('toString'));
  });
});

import assert from 'node:assert/strict';
import { createUser, startServer, type TestServer } from './helpers/server';

describe('smoke', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  it('answers /versions', async () => {
    const res = await server.request('GET', '/_matrix/client/versions');
    assert.equal(res.status, 200);
    assert.ok(res.body.versions.includes('v1.1'));
  });

  it('logs in and whoami', async () => {
    const user = await createUser(server, 'alice');
    const login = await server.request('POST', '/_matrix/client/v3/login', {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: user.password },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const who = await server.request('GET', '/_matrix/client/v3/account/whoami', { token: login.body.access_token });
    assert.deepEqual(who.body, { user_id: '@alice:localhost', device_id: login.body.device_id, is_guest: false });
  });
});

import assert from 'node:assert/strict';
import { createUser, freshDatabase, startServer, type TestDatabase, type TestServer } from './helpers/server';

const login = (server: TestServer, password: string) =>
  server.request('POST', '/_matrix/client/v3/login', {
    body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password },
  });

describe('restart', () => {
  let database: TestDatabase;
  let server: TestServer | undefined;

  beforeEach(() => {
    database = freshDatabase();
  });
  afterEach(async () => {
    await server?.stop({ drop: false });
    server = undefined;
    await database.drop();
  });

  it('keeps users, devices and access tokens across a restart on the same database', async () => {
    server = await startServer({}, database);
    const alice = await createUser(server, 'alice', { password: 'restart-pw' });
    const first = await login(server, 'restart-pw');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await server.stop({ drop: false });
    server = undefined;

    server = await startServer({}, database);
    const who = await server.request('GET', '/_matrix/client/v3/account/whoami', { token: first.body.access_token });
    assert.equal(who.status, 200, JSON.stringify(who.body));
    assert.deepEqual(who.body, { user_id: alice.userId, device_id: first.body.device_id, is_guest: false });
    const setupToken = await server.request('GET', '/_matrix/client/v3/account/whoami', { token: alice.accessToken });
    assert.equal(setupToken.status, 200);

    const again = await login(server, 'restart-pw');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.user_id, alice.userId);
    assert.notEqual(again.body.access_token, first.body.access_token);
    assert.equal((await login(server, 'wrong')).status, 403);
  });
});

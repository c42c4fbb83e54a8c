/** Server names with explicit ports, and IPv6 literals, work everywhere a server name appears. */
import assert from 'node:assert/strict';
import { startServer } from './helpers/server';

const V3 = '/_matrix/client/v3';

for (const serverName of ['127.0.0.1:8448', '[::1]:8448']) {
  describe(`server name ${serverName}`, () => {
    it('registers, logs in by full user ID, and reads the profile', async () => {
      const server = await startServer({ server_name: serverName });
      try {
        const reg = await server.request('POST', `${V3}/register`, {
          body: { username: 'alice', password: 'pw', auth: { type: 'm.login.dummy' } },
        });
        assert.equal(reg.status, 200, JSON.stringify(reg.body));
        const userId = `@alice:${serverName}`;
        assert.equal(reg.body.user_id, userId);

        const login = await server.request('POST', `${V3}/login`, {
          body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: userId }, password: 'pw' },
        });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        assert.equal(login.body.home_server, serverName);

        const who = await server.request('GET', `${V3}/account/whoami`, { token: login.body.access_token });
        assert.equal(who.body.user_id, userId);
        const profile = await server.request('GET', `${V3}/profile/${encodeURIComponent(userId)}`);
        assert.deepEqual(profile.body, { displayname: 'alice' });
      } finally {
        await server.stop();
      }
    });
  });
}

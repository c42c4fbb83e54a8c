/** /versions and the .well-known documents. */
import assert from 'node:assert/strict';
import { expectError, startServer } from './helpers/server';

describe('discovery', () => {
  it('lists spec versions without authentication', async () => {
    const server = await startServer();
    try {
      const res = await server.request('GET', '/_matrix/client/versions');
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.body.versions) && res.body.versions.every((v: string) => /^v1\.\d+$/.test(v)));
      assert.deepEqual(res.body.unstable_features, {});
    } finally {
      await server.stop();
    }
  });

  it('serves .well-known from the config, and 404 M_NOT_FOUND when unset', async () => {
    const bare = await startServer();
    try {
      expectError(await bare.request('GET', '/.well-known/matrix/client'), 404, 'M_NOT_FOUND');
      expectError(await bare.request('GET', '/.well-known/matrix/server'), 404, 'M_NOT_FOUND');
    } finally {
      await bare.stop();
    }
    const configured = await startServer({
      well_known: { client_base_url: 'https://matrix.example.org', server: 'matrix.example.org:443' },
    });
    try {
      const client = await configured.request('GET', '/.well-known/matrix/client');
      assert.deepEqual(client.body, { 'm.homeserver': { base_url: 'https://matrix.example.org' } });
      assert.equal(client.headers.get('access-control-allow-origin'), '*');
      const server = await configured.request('GET', '/.well-known/matrix/server');
      assert.deepEqual(server.body, { 'm.server': 'matrix.example.org:443' });
    } finally {
      await configured.stop();
    }
  });

  it('falls back to public_baseurl for the client well-known', async () => {
    const server = await startServer({ public_baseurl: 'https://hs.example.org/' });
    try {
      const res = await server.request('GET', '/.well-known/matrix/client');
      assert.deepEqual(res.body, { 'm.homeserver': { base_url: 'https://hs.example.org/' } });
    } finally {
      await server.stop();
    }
  });
});

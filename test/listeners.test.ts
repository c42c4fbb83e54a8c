/** Each listener serves the APIs its `resources` name, and only those. */
import assert from 'node:assert/strict';
import { expectError, request, startServer } from './helpers/server';

describe('listeners', () => {
  it('serves the client API only on listeners that list it', async () => {
    const server = await startServer({
      listeners: [
        { bind_address: '127.0.0.1', port: 0, resources: ['client'] },
        { bind_address: '127.0.0.1', port: 0, resources: ['federation'] },
      ],
    });
    try {
      const [client, federation] = server.listeners;
      assert.deepEqual(client.resources, ['client']);
      assert.deepEqual(federation.resources, ['federation']);
      assert.notEqual(client.url, federation.url);
      assert.equal((await request(client.url, 'GET', '/_matrix/client/versions')).status, 200);
      expectError(await request(federation.url, 'GET', '/_matrix/client/versions'), 404, 'M_UNRECOGNIZED');
    } finally {
      await server.stop();
    }
  });
});

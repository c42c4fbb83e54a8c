/** The HTTP plumbing every endpoint shares: errors, CORS, body limits, tokens, rate limits. */
import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const WHOAMI = '/_matrix/client/v3/account/whoami';
const LOGIN = '/_matrix/client/v3/login';

describe('HTTP plumbing', () => {
  let server: TestServer;
  let alice: TestUser;
  before(async () => {
    server = await startServer({ max_request_body_bytes: 2048 });
    alice = await createUser(server, 'alice');
  });
  after(() => server.stop());

  it('answers an unknown endpoint with 404 M_UNRECOGNIZED', async () => {
    expectError(await server.request('GET', '/_matrix/client/v3/no_such_thing'), 404, 'M_UNRECOGNIZED');
    expectError(await server.request('GET', '/elsewhere'), 404, 'M_UNRECOGNIZED');
  });

  it('answers a known path with the wrong method with 405 M_UNRECOGNIZED', async () => {
    expectError(await server.request('DELETE', LOGIN), 405, 'M_UNRECOGNIZED');
    expectError(await server.request('POST', '/_matrix/client/versions', { body: {} }), 405, 'M_UNRECOGNIZED');
  });

  it('answers OPTIONS with the CORS headers and no authentication', async () => {
    const res = await server.request('OPTIONS', WHOAMI);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /GET, POST, PUT, DELETE, OPTIONS/);
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  });

  it('puts CORS headers on ordinary and error responses', async () => {
    const ok = await server.request('GET', '/_matrix/client/versions');
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    const err = await server.request('GET', WHOAMI);
    assert.equal(err.headers.get('access-control-allow-origin'), '*');
  });

  it('answers malformed JSON with 400 M_NOT_JSON', async () => {
    expectError(await server.request('POST', LOGIN, { rawBody: '{"type": "m.login.password",' }), 400, 'M_NOT_JSON');
  });

  it('answers a JSON body that is not an object with 400 M_BAD_JSON', async () => {
    expectError(await server.request('POST', LOGIN, { rawBody: '["m.login.password"]' }), 400, 'M_BAD_JSON');
    expectError(await server.request('POST', LOGIN, { rawBody: '42' }), 400, 'M_BAD_JSON');
  });

  it('names the field in schema errors', async () => {
    const missing = await server.request('POST', LOGIN, { body: { password: 'x' } });
    expectError(missing, 400, 'M_MISSING_PARAM');
    assert.match(missing.body.error, /type/);
    const wrongType = await server.request('POST', LOGIN, { body: { type: 'm.login.password', refresh_token: 'yes' } });
    expectError(wrongType, 400, 'M_BAD_JSON');
    assert.match(wrongType.body.error, /refresh_token/);
  });

  it('answers a body over the configured limit with 413 M_TOO_LARGE', async () => {
    const body = { type: 'm.login.password', password: 'x'.repeat(4096) };
    expectError(await server.request('POST', LOGIN, { body }), 413, 'M_TOO_LARGE');
  });

  it('requires a token where the spec does', async () => {
    const res = await server.request('GET', WHOAMI);
    expectError(res, 401, 'M_MISSING_TOKEN');
  });

  it('rejects an unknown token with 401 M_UNKNOWN_TOKEN and soft_logout false', async () => {
    const res = await server.request('GET', WHOAMI, { token: 'wft_not-a-real-token' });
    expectError(res, 401, 'M_UNKNOWN_TOKEN');
    assert.equal(res.body.soft_logout, false);
  });

  it('rejects a malformed Authorization header', async () => {
    const res = await server.request('GET', WHOAMI, { headers: { Authorization: 'Basic abc' } });
    expectError(res, 401, 'M_UNKNOWN_TOKEN');
  });

  it('accepts the token from the deprecated access_token query parameter', async () => {
    const res = await server.request('GET', `${WHOAMI}?access_token=${encodeURIComponent(alice.accessToken)}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.user_id, alice.userId);
  });

  it('records last_seen_ip and last_seen_ts for the device', async () => {
    await server.request('GET', WHOAMI, { token: alice.accessToken });
    const device = await server.hs.services.stores.devices.get(alice.userId, alice.deviceId);
    assert.equal(device?.lastSeenIp, '127.0.0.1');
    assert.ok(device?.lastSeenTs && Math.abs(device.lastSeenTs - Date.now()) < 60_000);
  });
});

describe('rate limiting', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      rate_limits: { enabled: true, per_ip: { per_second: 0.01, burst: 2 }, per_user: { per_second: 0.01, burst: 3 } },
    });
  });
  after(() => server.stop());

  it('answers 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After once the per-IP bucket is empty', async () => {
    assert.equal((await server.request('GET', LOGIN)).status, 200);
    assert.equal((await server.request('GET', LOGIN)).status, 200);
    const limited = await server.request('GET', LOGIN);
    expectError(limited, 429, 'M_LIMIT_EXCEEDED');
    assert.ok(limited.body.retry_after_ms > 0);
    assert.equal(limited.headers.get('retry-after'), String(Math.ceil(limited.body.retry_after_ms / 1000)));
  });

  it('keys authenticated requests by user, so users do not share a bucket', async () => {
    const bob = await createUser(server, 'bob');
    const carol = await createUser(server, 'carol');
    for (let i = 0; i < 3; i++) assert.equal((await server.request('GET', WHOAMI, { token: bob.accessToken })).status, 200);
    expectError(await server.request('GET', WHOAMI, { token: bob.accessToken }), 429, 'M_LIMIT_EXCEEDED');
    assert.equal((await server.request('GET', WHOAMI, { token: carol.accessToken })).status, 200);
  });

  it('does not limit endpoints the spec does not mark as rate-limited', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await server.request('GET', '/_matrix/client/versions')).status, 200);
  });
});

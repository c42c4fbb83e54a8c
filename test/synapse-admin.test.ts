/** Synapse's shared-secret registration, GET/POST /_synapse/admin/v1/register. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createUser, expectError, startServer, type TestServer } from './helpers/server';

const PATH = '/_synapse/admin/v1/register';
const SECRET = 'test-shared-secret';

/** The MAC as Synapse's register_new_matrix_user computes it. */
function mac(nonce: string, username: string, password: string, admin: boolean, userType?: string, secret = SECRET): string {
  const parts = [nonce, username, password, admin ? 'admin' : 'notadmin', ...(userType ? [userType] : [])];
  return createHmac('sha1', Buffer.from(secret, 'utf8')).update(Buffer.from(parts.join('\x00'), 'utf8')).digest('hex');
}

describe('shared-secret registration', () => {
  let server: TestServer;
  before(async () => {
    // Works even with registration closed.
    server = await startServer({ registration: { mode: 'closed', shared_secret: SECRET } });
  });
  after(() => server.stop());

  const nonce = async (): Promise<string> => {
    const res = await server.request('GET', PATH);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.nonce;
  };
  const post = (body: Record<string, unknown>) => server.request('POST', PATH, { body });
  const signed = (n: string, username: string, password: string, admin = false, extra: Record<string, unknown> = {}) =>
    ({ nonce: n, username, password, admin, mac: mac(n, username, password, admin, extra.user_type as string | undefined), ...extra });

  it('hands out fresh nonces', async () => {
    const [a, b] = [await nonce(), await nonce()];
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, b);
  });

  it('registers a signed-in user with a correct MAC', async () => {
    const res = await post(signed(await nonce(), 'Alice', 'pw'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user_id, '@alice:localhost');
    assert.equal(res.body.home_server, 'localhost');
    assert.equal(typeof res.body.device_id, 'string');
    const who = await server.request('GET', '/_matrix/client/v3/account/whoami', { token: res.body.access_token });
    assert.equal(who.body.user_id, '@alice:localhost');
    const user = await server.hs.services.stores.users.get('@alice:localhost');
    assert.equal(user?.isAdmin, false);
    assert.equal(await server.hs.services.stores.profiles.getField('@alice:localhost', 'displayname'), 'alice');
    const login = await server.request('POST', '/_matrix/client/v3/login', { body: { type: 'm.login.password', user: 'alice', password: 'pw' } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
  });

  it('makes admins, and sets a given displayname and user type', async () => {
    const res = await post(signed(await nonce(), 'boss', 'pw', true, { displayname: 'The Boss', user_type: 'bot' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await server.hs.services.stores.users.get('@boss:localhost'))?.isAdmin, true);
    assert.equal(await server.hs.services.stores.profiles.getField('@boss:localhost', 'displayname'), 'The Boss');
  });

  it('refuses a wrong MAC with 403 M_FORBIDDEN, and the nonce is then spent', async () => {
    const n = await nonce();
    expectError(await post({ ...signed(n, 'carol', 'pw'), mac: mac(n, 'carol', 'pw', false, undefined, 'wrong-secret') }), 403, 'M_FORBIDDEN');
    expectError(await post(signed(n, 'carol', 'pw')), 400, 'M_UNKNOWN');
    // A MAC that does not cover admin: true is wrong too; so is one of another length.
    expectError(await post({ ...signed(await nonce(), 'carol', 'pw'), admin: true }), 403, 'M_FORBIDDEN');
    expectError(await post({ ...signed(await nonce(), 'carol', 'pw'), mac: 'abc' }), 403, 'M_FORBIDDEN');
    assert.equal(await server.hs.services.stores.users.exists('@carol:localhost'), false);
  });

  it('refuses a nonce used once, one never issued, and one older than 60 s', async () => {
    const n = await nonce();
    assert.equal((await post(signed(n, 'dave', 'pw'))).status, 200);
    expectError(await post(signed(n, 'dave2', 'pw')), 400, 'M_UNKNOWN');
    expectError(await post(signed('f'.repeat(64), 'dave3', 'pw')), 400, 'M_UNKNOWN');
    await server.hs.services.stores.sharedSecretNonces.insert('old-nonce', Date.now() - 61_000);
    expectError(await post(signed('old-nonce', 'dave4', 'pw')), 400, 'M_UNKNOWN');
  });

  it('refuses taken and invalid usernames, unknown user types and NUL bytes', async () => {
    await createUser(server, 'erin');
    expectError(await post(signed(await nonce(), 'erin', 'pw')), 400, 'M_USER_IN_USE');
    expectError(await post(signed(await nonce(), 'not valid', 'pw')), 400, 'M_INVALID_USERNAME');
    expectError(await post(signed(await nonce(), 'frank', 'pw', false, { user_type: 'wizard' })), 400, 'M_UNKNOWN');
    expectError(await post(signed(await nonce(), 'fr\0ank', 'pw')), 400, 'M_UNKNOWN');
    expectError(await post(signed(await nonce(), 'frank', 'p\0w')), 400, 'M_UNKNOWN');
  });

  it('refuses missing and mistyped fields', async () => {
    const n = await nonce();
    const full: Record<string, unknown> = signed(n, 'gina', 'pw');
    for (const field of ['nonce', 'username', 'password', 'mac']) {
      const { [field]: _dropped, ...body } = full;
      expectError(await post(body), 400, 'M_MISSING_PARAM');
    }
    expectError(await post({ ...full, admin: 'yes' }), 400, 'M_BAD_JSON');
    expectError(await post({ ...full, username: 7 }), 400, 'M_BAD_JSON');
  });

  it('is off without a shared secret', async () => {
    const plain = await startServer({ registration: { shared_secret: null as unknown as string } });
    try {
      const get = await plain.request('GET', PATH);
      expectError(get, 400, 'M_UNKNOWN');
      assert.equal(get.body.error, 'Shared secret registration is not enabled');
      expectError(await plain.request('POST', PATH, { body: { nonce: 'n', username: 'u', password: 'p', mac: 'm' } }), 400, 'M_UNKNOWN');
    } finally {
      await plain.stop();
    }
  });
});

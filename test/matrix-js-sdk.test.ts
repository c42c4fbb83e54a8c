/**
 * A real client library against the server: matrix-js-sdk registers, logs in and
 * edits a profile. The SDK is ESM only, so it is loaded with a dynamic import().
 */
import assert from 'node:assert/strict';
import { startServer, type TestServer } from './helpers/server';

type Sdk = Awaited<ReturnType<typeof loadSdk>>;
type Client = ReturnType<Sdk['createClient']>;

const loadSdk = () => import('matrix-js-sdk');

const quiet = {
  trace() {}, debug() {}, info() {}, warn() {}, error() {},
  getChild: () => quiet,
};

describe('matrix-js-sdk', () => {
  let sdk: Sdk;
  let server: TestServer;
  const clients: Client[] = [];

  const client = (options: { accessToken?: string; userId?: string; deviceId?: string } = {}) => {
    const made = sdk.createClient({ baseUrl: server.baseUrl, logger: quiet, ...options });
    clients.push(made);
    return made;
  };

  before(async () => {
    sdk = await loadSdk();
    // Clients get the quiet logger; this silences the SDK's global one.
    (await import('matrix-js-sdk/lib/logger.js')).logger.disableAll();
    server = await startServer({ registration: { mode: 'open' } });
  });
  after(async () => {
    for (const made of clients) made.stopClient();
    await server?.stop();
  });

  it('registers with m.login.dummy, logs in, and edits the profile', async () => {
    const anonymous = client();
    // The first request has no auth: the server answers 401 with the flows and a session.
    const challenge = await anonymous.registerRequest({ username: 'sdkuser', password: 'sdk-password' }).then(
      () => assert.fail('registration without auth should ask for user-interactive auth'),
      (err: { httpStatus?: number; data?: { session?: string; flows?: { stages: string[] }[] } }) => err,
    );
    assert.equal(challenge.httpStatus, 401);
    assert.ok(challenge.data?.flows?.some((flow) => flow.stages.includes('m.login.dummy')), JSON.stringify(challenge.data));
    const registered = await anonymous.registerRequest({
      username: 'sdkuser',
      password: 'sdk-password',
      auth: { type: 'm.login.dummy', session: challenge.data!.session },
    });
    assert.equal(registered.user_id, '@sdkuser:localhost');
    assert.ok(registered.access_token);

    const login = await anonymous.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'sdkuser' },
      password: 'sdk-password',
      initial_device_display_name: 'js-sdk test',
    });
    assert.equal(login.user_id, '@sdkuser:localhost');
    assert.notEqual(login.device_id, registered.device_id);

    const alice = client({ accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
    const who = await alice.whoami();
    assert.equal(who.user_id, '@sdkuser:localhost');
    assert.equal(who.device_id, login.device_id);

    await alice.setDisplayName('SDK User');
    const profile = await alice.getProfileInfo('@sdkuser:localhost');
    assert.equal(profile.displayname, 'SDK User');
    const displayname = await alice.getProfileInfo('@sdkuser:localhost', 'displayname');
    assert.deepEqual(displayname, { displayname: 'SDK User' });
  });

  it('sees the server versions and a wrong password as the SDK expects', async () => {
    const anonymous = client();
    const versions = await anonymous.getVersions();
    assert.ok(versions.versions.includes('v1.1'));
    const err = await anonymous
      .loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: 'x' })
      .then(() => assert.fail('login should fail'), (e: { httpStatus?: number; errcode?: string }) => e);
    assert.equal(err.httpStatus, 403);
    assert.equal(err.errcode, 'M_FORBIDDEN');
  });
});

/** Device list tracking: /sync's `device_lists` and GET /keys/changes. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { signJson, signingKeyPair } from '../spec/signing';
import { unpaddedBase64 } from '../spec/signing-key';
import { createRoom, join } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

function signingKey() {
  const seed = randomBytes(32);
  const publicKey = signingKeyPair({ keyId: 'ed25519:k', seed }).publicKeyBase64;
  return { publicKey, sign: <T extends object>(json: T, userId: string, keyId: string) => signJson(json, userId, signingKeyPair({ keyId, seed })) };
}

function deviceKeys(user: TestUser) {
  const key = signingKey();
  return key.sign(
    {
      user_id: user.userId,
      device_id: user.deviceId,
      algorithms: ['m.olm.v1.curve25519-aes-sha2'],
      keys: { [`curve25519:${user.deviceId}`]: unpaddedBase64(randomBytes(32)), [`ed25519:${user.deviceId}`]: key.publicKey },
    },
    user.userId,
    `ed25519:${user.deviceId}`,
  );
}

/** Master and user-signing keys (the user-signing key signed by the master key). */
function crossSigningKeys(userId: string) {
  const master = signingKey();
  const userSigning = signingKey();
  const masterKey = { user_id: userId, usage: ['master'], keys: { [`ed25519:${master.publicKey}`]: master.publicKey } };
  const userSigningKey = master.sign(
    { user_id: userId, usage: ['user_signing'], keys: { [`ed25519:${userSigning.publicKey}`]: userSigning.publicKey } },
    userId,
    `ed25519:${master.publicKey}`,
  );
  return { master, userSigning, body: { master_key: masterKey, user_signing_key: userSigningKey } };
}

describe('device lists', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let stranger: TestUser;
  let room: string;

  const syncBody = async (user: TestUser, since?: string, timeoutMs = 0) => {
    const query = since === undefined ? '' : `?since=${encodeURIComponent(since)}&timeout=${timeoutMs}`;
    const res = await server.request('GET', `${V3}/sync${query}`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const token = async (user: TestUser): Promise<string> => (await syncBody(user)).next_batch;
  /** `device_lists` of an incremental sync from `since`, with empty lists for an absent one. */
  const lists = async (user: TestUser, since: string) => {
    const body = await syncBody(user, since);
    return { changed: body.device_lists?.changed ?? [], left: body.device_lists?.left ?? [] };
  };
  const signIn = async (user: TestUser, deviceId: string): Promise<TestUser> => {
    const session = await server.hs.services.accounts.startSession(user.userId, { deviceId });
    return { ...user, deviceId, accessToken: session.access_token };
  };
  const post = (user: TestUser, path: string, body: unknown) => server.request('POST', `${V3}${path}`, { token: user.accessToken, body });
  const leave = async (user: TestUser, roomId: string) => {
    const res = await post(user, `/rooms/${encodeURIComponent(roomId)}/leave`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const passwordAuth = (user: TestUser) => ({ type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: user.password });

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    stranger = await createUser(server, 'stranger');
    room = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, room);
    await createRoom(server, stranger, {});
  });
  after(() => server.stop());

  it('sends no device_lists on an initial sync, but always the key counts', async () => {
    const body = await syncBody(bob);
    assert.equal(body.device_lists, undefined);
    assert.deepEqual(body.device_one_time_keys_count, { signed_curve25519: 0 });
    assert.deepEqual(body.device_unused_fallback_key_types, []);
  });

  it('tells room mates and the user about a new device, and not strangers', async () => {
    const [bobSince, aliceSince, strangerSince] = await Promise.all([token(bob), token(alice), token(stranger)]);
    await signIn(alice, 'NEWPHONE');
    assert.deepEqual(await lists(bob, bobSince), { changed: [alice.userId], left: [] });
    assert.deepEqual((await lists(alice, aliceSince)).changed, [alice.userId]);
    assert.deepEqual(await lists(stranger, strangerSince), { changed: [], left: [] });
    // Nothing new since then.
    assert.deepEqual(await lists(bob, await token(bob)), { changed: [], left: [] });
  });

  it('tells room mates about key uploads, renames and deletions, and not strangers', async () => {
    const laptop = await signIn(alice, 'LAPTOP');
    const steps: [string, () => Promise<unknown>][] = [
      ['key upload', () => post(laptop, '/keys/upload', { device_keys: deviceKeys(laptop) })],
      ['rename', () => server.request('PUT', `${V3}/devices/LAPTOP`, { token: alice.accessToken, body: { display_name: 'Laptop' } })],
      ['cross-signing keys', () => post(alice, '/keys/device_signing/upload', crossSigningKeys(alice.userId).body)],
      ['deletion', () => server.request('DELETE', `${V3}/devices/LAPTOP`, { token: alice.accessToken, body: { auth: passwordAuth(alice) } })],
    ];
    for (const [what, step] of steps) {
      const [bobSince, strangerSince] = await Promise.all([token(bob), token(stranger)]);
      const res = (await step()) as { status: number; body: unknown };
      assert.equal(res.status, 200, `${what}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(await lists(bob, bobSince), { changed: [alice.userId], left: [] }, what);
      assert.deepEqual(await lists(stranger, strangerSince), { changed: [], left: [] }, what);
    }
  });

  it('tells room mates when a password change logs devices out, and when an account is deactivated', async () => {
    const gina = await createUser(server, 'gina');
    await join(server, bob, await createRoom(server, gina, { preset: 'public_chat' }));
    await signIn(gina, 'OTHERDEVICE');
    let since = await token(bob);
    const changed = await post(gina, '/account/password', { new_password: 'new-password-1', logout_devices: true, auth: passwordAuth(gina) });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual(await lists(bob, since), { changed: [gina.userId], left: [] });

    since = await token(bob);
    const deactivated = await post(gina, '/account/deactivate', { auth: { ...passwordAuth(gina), password: 'new-password-1' } });
    assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
    assert.ok((await lists(bob, since)).changed.includes(gina.userId));
  });

  it('records no change for uploads that change nothing', async () => {
    const tablet = await signIn(alice, 'TABLET');
    const keys = deviceKeys(tablet);
    await post(tablet, '/keys/upload', { device_keys: keys });
    const since = await token(bob);
    assert.equal((await post(tablet, '/keys/upload', { device_keys: keys })).status, 200);
    assert.equal((await post(tablet, '/keys/upload', { one_time_keys: { 'signed_curve25519:A': 'key' } })).status, 200);
    assert.deepEqual(await lists(bob, since), { changed: [], left: [] });
  });

  it('wakes a waiting sync of a room mate when a device list changes', async () => {
    const since = await token(bob);
    const waiting = syncBody(bob, since, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const watch = await signIn(alice, 'WATCH');
    assert.equal((await post(watch, '/keys/upload', { device_keys: deviceKeys(watch) })).status, 200);
    const body = await waiting;
    assert.deepEqual(body.device_lists?.changed, [alice.userId]);
  });

  it('lists users who newly share a room in changed, and those who no longer share one in left', async () => {
    const carol = await createUser(server, 'carol');
    const [bobSince, carolSince] = await Promise.all([token(bob), token(carol)]);
    await join(server, carol, room);
    assert.deepEqual(await lists(bob, bobSince), { changed: [carol.userId], left: [] });
    // Carol joined the room: everyone in it is news to her.
    assert.deepEqual((await lists(carol, carolSince)).changed.sort(), [alice.userId, bob.userId].sort());

    const [bobBefore, carolBefore] = await Promise.all([token(bob), token(carol)]);
    await leave(carol, room);
    assert.deepEqual(await lists(bob, bobBefore), { changed: [], left: [carol.userId] });
    assert.deepEqual((await lists(carol, carolBefore)).left.sort(), [alice.userId, bob.userId].sort());
    // Out of the room, carol no longer hears of alice's devices.
    const carolAfter = await token(carol);
    await signIn(alice, 'AFTERCAROL');
    assert.deepEqual(await lists(carol, carolAfter), { changed: [], left: [] });
  });

  it('does not list a user in left who still shares another room', async () => {
    const dave = await createUser(server, 'dave');
    const other = await createRoom(server, bob, { preset: 'public_chat' });
    await join(server, dave, room);
    await join(server, dave, other);
    const since = await token(bob);
    await leave(dave, room);
    assert.deepEqual(await lists(bob, since), { changed: [], left: [] });
  });

  it("tells only the signer about their user-signing key's signature of another user", async () => {
    const signer = crossSigningKeys(alice.userId);
    const aliceWithNewKeys = await post(alice, '/keys/device_signing/upload', signer.body);
    // Alice already has cross-signing keys from an earlier test: replacing them needs UIA.
    const replaced = aliceWithNewKeys.status === 401
      ? await post(alice, '/keys/device_signing/upload', { ...signer.body, auth: { ...passwordAuth(alice), session: aliceWithNewKeys.body.session } })
      : aliceWithNewKeys;
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    const erin = await createUser(server, 'erin');
    const erinKeys = crossSigningKeys(erin.userId);
    assert.equal((await post(erin, '/keys/device_signing/upload', erinKeys.body)).status, 200);

    const [aliceSince, bobSince] = await Promise.all([token(alice), token(bob)]);
    const signed = signer.userSigning.sign(erinKeys.body.master_key, alice.userId, `ed25519:${signer.userSigning.publicKey}`);
    const res = await post(alice, '/keys/signatures/upload', { [erin.userId]: { [erinKeys.master.publicKey]: signed } });
    assert.deepEqual(res.body, { failures: {} });
    assert.deepEqual(await lists(alice, aliceSince), { changed: [erin.userId], left: [] });
    assert.deepEqual(await lists(bob, bobSince), { changed: [], left: [] });
  });

  it('GET /keys/changes lists the changes between two sync tokens', async () => {
    const frank = await createUser(server, 'frank');
    await join(server, frank, room);
    const from = await token(bob);
    await signIn(alice, 'CHANGES');
    await leave(frank, room);
    const to = await token(bob);
    await signIn(stranger, 'STRANGER2');
    const res = await server.request('GET', `${V3}/keys/changes?from=${from}&to=${to}`, { token: bob.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { changed: [alice.userId], left: [frank.userId] });

    const empty = await server.request('GET', `${V3}/keys/changes?from=${to}&to=${to}`, { token: bob.accessToken });
    assert.deepEqual(empty.body, { changed: [], left: [] });
    const future = 's9007199254740991_9007199254740991_0_0_0_0_9007199254740991_0';
    const ahead = await server.request('GET', `${V3}/keys/changes?from=${future}&to=${future}`, { token: bob.accessToken });
    assert.equal(ahead.status, 200, JSON.stringify(ahead.body));
    assert.deepEqual(ahead.body, { changed: [], left: [] });
    // Bob leaving the room is news about everyone in it.
    const beforeLeave = await token(bob);
    await leave(bob, room);
    const afterLeave = await token(bob);
    const left = await server.request('GET', `${V3}/keys/changes?from=${beforeLeave}&to=${afterLeave}`, { token: bob.accessToken });
    assert.ok(left.body.left.includes(alice.userId), JSON.stringify(left.body));
    await join(server, bob, room);
  });

  it('GET /keys/changes refuses missing or malformed tokens', async () => {
    const to = await token(bob);
    expectError(await server.request('GET', `${V3}/keys/changes?to=${to}`, { token: bob.accessToken }), 400, 'M_MISSING_PARAM');
    expectError(await server.request('GET', `${V3}/keys/changes?from=${to}`, { token: bob.accessToken }), 400, 'M_MISSING_PARAM');
    expectError(await server.request('GET', `${V3}/keys/changes?from=nonsense&to=${to}`, { token: bob.accessToken }), 400, 'M_INVALID_PARAM');
    expectError(await server.request('GET', `${V3}/keys/changes?from=${to}&to=${to}`), 401, 'M_MISSING_TOKEN');
  });

  it("reports the device's one-time key counts and fallback key types in every sync, falling after claims", async () => {
    const phone = await signIn(bob, 'OTKPHONE');
    const key = (id: string) => ({ [`signed_curve25519:${id}`]: { key: unpaddedBase64(randomBytes(32)), signatures: {} } });
    const since = await token(phone);
    await post(phone, '/keys/upload', { one_time_keys: { ...key('A'), ...key('B') }, fallback_keys: key('F') });
    await server.request('PUT', `${V3}/devices/OTKPHONE`, { token: phone.accessToken, body: { display_name: 'Phone' } });
    const incremental = await syncBody(phone, since);
    assert.deepEqual(incremental.device_lists?.changed, [bob.userId]);
    assert.deepEqual(incremental.device_one_time_keys_count, { signed_curve25519: 2 });
    assert.deepEqual(incremental.device_unused_fallback_key_types, ['signed_curve25519']);
    for (const expected of [1, 0]) {
      await post(alice, '/keys/claim', { one_time_keys: { [bob.userId]: { OTKPHONE: 'signed_curve25519' } } });
      assert.deepEqual((await syncBody(phone)).device_one_time_keys_count, { signed_curve25519: expected });
    }
    await post(alice, '/keys/claim', { one_time_keys: { [bob.userId]: { OTKPHONE: 'signed_curve25519' } } });
    assert.deepEqual((await syncBody(phone)).device_unused_fallback_key_types, []);
  });
});

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRoom, enc, join, send } from './helpers/rooms';
import { createUser, expectError, freshDatabase, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const statusPath = (userId: string) => `${V3}/presence/${enc(userId)}/status`;

async function sync(server: TestServer, user: TestUser, params: Record<string, string | number> = {}): Promise<any> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await server.request('GET', `${V3}/sync?${query}`, { token: user.accessToken });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** The m.presence events of a sync response, by sender. */
function presenceOf(body: any): Map<string, any> {
  const events: any[] = body.presence?.events ?? [];
  for (const event of events) assert.equal(event.type, 'm.presence');
  return new Map(events.map((event) => [event.sender, event]));
}

async function getStatus(server: TestServer, viewer: TestUser, userId: string): Promise<any> {
  const res = await server.request('GET', statusPath(userId), { token: viewer.accessToken });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function setStatus(server: TestServer, user: TestUser, body: Record<string, unknown>): Promise<void> {
  const res = await server.request('PUT', statusPath(user.userId), { token: user.accessToken, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body, {});
}

/** Polls `read` until `done` holds for its value (or fails after a few seconds); returns that value. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const value = await read();
    if (done(value)) return value;
    if (attempt > 200) assert.fail(`condition never held; last value ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

/** Starts a long-poll; resolves once the server is waiting on it, with the response to come. */
async function longPoll(server: TestServer, user: TestUser, params: Record<string, string | number>): Promise<{ response: Promise<any> }> {
  const waiting = server.hs.services.notifier.waiters;
  const response = sync(server, user, params);
  await eventually(async () => server.hs.services.notifier.waiters, (n) => n > waiting);
  return { response };
}

describe('presence', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
  });
  after(() => server.stop());

  it('sets and gets your own presence', async () => {
    await setStatus(server, alice, { presence: 'online', status_msg: 'In a meeting' });
    const online = await getStatus(server, alice, alice.userId);
    assert.equal(online.presence, 'online');
    assert.equal(online.status_msg, 'In a meeting');
    assert.equal(online.currently_active, true);
    assert.ok(Number.isInteger(online.last_active_ago) && online.last_active_ago >= 0 && online.last_active_ago < 60_000, JSON.stringify(online));

    // A new status without a message clears the old message.
    await setStatus(server, alice, { presence: 'unavailable' });
    const away = await getStatus(server, alice, alice.userId);
    assert.equal(away.presence, 'unavailable');
    assert.equal(away.status_msg, undefined);
    assert.equal(away.currently_active, undefined);
  });

  it('shows it to room mates, not to strangers', async () => {
    await setStatus(server, alice, { presence: 'online', status_msg: 'here' });
    const seen = await getStatus(server, bob, alice.userId);
    assert.equal(seen.presence, 'online');
    assert.equal(seen.status_msg, 'here');
    expectError(await server.request('GET', statusPath(alice.userId), { token: carol.accessToken }), 403, 'M_FORBIDDEN');
    expectError(await server.request('GET', statusPath('@someone:elsewhere.example'), { token: carol.accessToken }), 403, 'M_FORBIDDEN');
  });

  it('answers 404 for an unknown user and 400 for an invalid user ID', async () => {
    expectError(await server.request('GET', statusPath('@nobody:localhost'), { token: alice.accessToken }), 404, 'M_NOT_FOUND');
    expectError(await server.request('GET', statusPath('nobody'), { token: alice.accessToken }), 400, 'M_INVALID_PARAM');
  });

  it('answers offline for a user who never had a presence', async () => {
    const dave = await createUser(server, 'dave');
    assert.deepEqual(await getStatus(server, dave, dave.userId), { presence: 'offline' });
  });

  it('sends changes to room mates in /sync, and nothing to strangers', async () => {
    const { next_batch: bobSince } = await sync(server, bob);
    const { next_batch: carolSince } = await sync(server, carol);
    await setStatus(server, alice, { presence: 'unavailable', status_msg: 'lunch' });

    const event = presenceOf(await sync(server, bob, { since: bobSince })).get(alice.userId);
    assert.equal(event?.sender, alice.userId);
    assert.equal(event.content.presence, 'unavailable');
    assert.equal(event.content.status_msg, 'lunch');
    assert.equal(typeof event.content.last_active_ago, 'number');

    assert.equal(presenceOf(await sync(server, carol, { since: carolSince })).has(alice.userId), false);
    assert.equal(presenceOf(await sync(server, carol)).has(alice.userId), false);
  });

  it('gives an initial sync the presence of room mates who are not offline, and your own', async () => {
    const erin = await createUser(server, 'erin');
    await join(server, erin, roomId);
    await setStatus(server, erin, { presence: 'offline' });
    await setStatus(server, alice, { presence: 'online' });

    const initial = presenceOf(await sync(server, bob));
    assert.equal(initial.get(alice.userId)?.content.presence, 'online');
    assert.equal(initial.get(alice.userId)?.content.currently_active, true);
    assert.equal(initial.get(bob.userId)?.content.presence, 'online');
    assert.equal(initial.has(erin.userId), false);
    assert.equal(initial.has(carol.userId), false);
  });

  it('wakes a waiting /sync of a room mate', async () => {
    const { next_batch: since } = await sync(server, bob);
    const { response } = await longPoll(server, bob, { since, timeout: 10000 });
    await setStatus(server, alice, { presence: 'unavailable', status_msg: 'brb' });
    assert.equal(presenceOf(await response).get(alice.userId)?.content.status_msg, 'brb');
  });

  it('sends the presence of a user who newly shares a room', async () => {
    const frank = await createUser(server, 'frank');
    await setStatus(server, frank, { presence: 'online', status_msg: 'new here' });
    const { next_batch: since } = await sync(server, bob);
    await join(server, frank, roomId);
    const event = presenceOf(await sync(server, bob, { since })).get(frank.userId);
    assert.equal(event?.content.status_msg, 'new here');
  });

  it('follows set_presence on /sync', async () => {
    const gina = await createUser(server, 'gina');
    await sync(server, gina, { set_presence: 'unavailable' });
    assert.equal((await getStatus(server, gina, gina.userId)).presence, 'unavailable');
    // offline leaves the presence alone.
    await sync(server, gina, { set_presence: 'offline' });
    assert.equal((await getStatus(server, gina, gina.userId)).presence, 'unavailable');
    // No set_presence: syncing is being online.
    await sync(server, gina);
    const online = await getStatus(server, gina, gina.userId);
    assert.equal(online.presence, 'online');
    assert.equal(online.currently_active, true);

    await setStatus(server, gina, { presence: 'offline' });
    await sync(server, gina, { set_presence: 'offline' });
    assert.equal((await getStatus(server, gina, gina.userId)).presence, 'offline');
  });

  it('counts sending an event as activity: unavailable becomes online', async () => {
    await setStatus(server, alice, { presence: 'unavailable', status_msg: 'away' });
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'back' });
    const status = await eventually(() => getStatus(server, alice, alice.userId), (s) => s.presence === 'online');
    assert.equal(status.status_msg, 'away');
    assert.equal(status.currently_active, true);
  });

  it("honours the filter's presence part", async () => {
    await setStatus(server, alice, { presence: 'online' });
    const none = await sync(server, bob, { filter: JSON.stringify({ presence: { not_types: ['m.presence'] } }) });
    assert.equal(none.presence, undefined);
    const onlyAlice = presenceOf(await sync(server, bob, { filter: JSON.stringify({ presence: { senders: [alice.userId] } }) }));
    assert.deepEqual([...onlyAlice.keys()], [alice.userId]);
    const limited = await sync(server, bob, { filter: JSON.stringify({ presence: { limit: 1 } }) });
    assert.equal(limited.presence.events.length, 1);
  });

  describe('errors', () => {
    it("refuses to set another user's presence with 403 M_FORBIDDEN", async () => {
      await setStatus(server, alice, { presence: 'online', status_msg: 'mine' });
      expectError(await server.request('PUT', statusPath(alice.userId), { token: bob.accessToken, body: { presence: 'offline' } }), 403, 'M_FORBIDDEN');
      const status = await getStatus(server, alice, alice.userId);
      assert.equal(status.presence, 'online');
      assert.equal(status.status_msg, 'mine');
    });

    it('validates the body, and changes nothing when it is wrong', async () => {
      await setStatus(server, alice, { presence: 'online', status_msg: 'unchanged' });
      const put = (options: { body?: unknown; rawBody?: string }) => server.request('PUT', statusPath(alice.userId), { token: alice.accessToken, ...options });
      expectError(await put({ body: {} }), 400, 'M_MISSING_PARAM');
      expectError(await put({ body: { presence: 'away' } }), 400, 'M_INVALID_PARAM');
      expectError(await put({ body: { presence: 7 } }), 400, 'M_BAD_JSON');
      expectError(await put({ body: { presence: 'offline', status_msg: 5 } }), 400, 'M_BAD_JSON');
      expectError(await put({ body: { presence: 'offline', status_msg: null } }), 400, 'M_BAD_JSON');
      expectError(await put({ body: ['offline'] }), 400, 'M_BAD_JSON');
      expectError(await put({ rawBody: '{"presence": "offline"' }), 400, 'M_NOT_JSON');
      const status = await getStatus(server, alice, alice.userId);
      assert.equal(status.presence, 'online');
      assert.equal(status.status_msg, 'unchanged');
    });

    it('needs a valid access token', async () => {
      expectError(await server.request('GET', statusPath(alice.userId)), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('PUT', statusPath(alice.userId), { body: { presence: 'online' } }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', statusPath(alice.userId), { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('PUT', statusPath(alice.userId), { token: 'nope', body: { presence: 'online' } }), 401, 'M_UNKNOWN_TOKEN');
    });
  });
});

describe('presence timeouts', () => {
  const timeouts = { idle_timeout_ms: 250, offline_timeout_ms: 500 };
  let server: TestServer;
  let roomId: string;
  let watcher: TestUser;

  before(async () => {
    server = await startServer({ presence: timeouts });
    watcher = await createUser(server, 'watcher');
    roomId = await createRoom(server, watcher, { preset: 'public_chat' });
  });
  after(() => server.stop());

  it('turns an idle user unavailable, then a disconnected one offline, and tells room mates', async () => {
    const idler = await createUser(server, 'idler');
    await join(server, idler, roomId);
    // The watcher's own syncs leave its presence alone.
    const { next_batch: since } = await sync(server, watcher, { set_presence: 'offline' });
    const { response } = await longPoll(server, watcher, { since, timeout: 10000, set_presence: 'offline' });
    await sync(server, idler);
    const online = presenceOf(await response).get(idler.userId);
    assert.equal(online?.content.presence, 'online');

    const states: string[] = [];
    await eventually(
      async () => (await getStatus(server, watcher, idler.userId)).presence,
      (state) => {
        if (states.at(-1) !== state) states.push(state);
        return state === 'offline';
      },
    );
    assert.deepEqual(states.filter((s) => s !== 'online'), ['unavailable', 'offline']);

    // The watcher's /sync has the latest change.
    const seen = await sync(server, watcher, { since, set_presence: 'offline' });
    assert.equal(presenceOf(seen).get(idler.userId)?.content.presence, 'offline');
  });

  it('keeps a user who keeps syncing online', async () => {
    const busy = await createUser(server, 'busy');
    const until = Date.now() + timeouts.idle_timeout_ms + timeouts.offline_timeout_ms;
    while (Date.now() < until) {
      await sync(server, busy);
      assert.equal((await getStatus(server, busy, busy.userId)).presence, 'online');
    }
  });

  it('keeps a user connected while a sync request waits, and starts the offline clock when it ends', async () => {
    const poller = await createUser(server, 'poller');
    const { next_batch: since } = await sync(server, poller, { set_presence: 'unavailable' });
    const waitMs = 1.6 * timeouts.offline_timeout_ms;
    const startedAt = Date.now();
    const response = sync(server, poller, { since, timeout: waitMs, set_presence: 'unavailable' });
    await sleep(timeouts.offline_timeout_ms * 1.3);
    assert.equal((await getStatus(server, poller, poller.userId)).presence, 'unavailable');
    await response;
    const endedAt = Date.now();
    await eventually(() => getStatus(server, poller, poller.userId), (s) => s.presence === 'offline');
    assert.ok(endedAt - startedAt >= waitMs - 50, 'the long-poll should have waited');
  });

  it('sends users a previous run left online offline', async () => {
    const database = freshDatabase();
    const first = await startServer({}, database);
    const user = await createUser(first, 'leftover');
    await sync(first, user);
    assert.equal((await getStatus(first, user, user.userId)).presence, 'online');
    await first.stop({ drop: false });

    const second = await startServer({ presence: timeouts }, database);
    try {
      const login = await second.hs.services.accounts.startSession(user.userId, {});
      const again: TestUser = { ...user, accessToken: login.access_token, deviceId: login.device_id };
      await eventually(() => getStatus(second, again, user.userId), (s) => s.presence === 'offline');
    } finally {
      await second.stop();
    }
  });
});

describe('presence disabled', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startServer({ presence: { enabled: false } });
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
  });
  after(() => server.stop());

  it('accepts PUT, answers offline, and sends nothing in /sync', async () => {
    const { next_batch: since } = await sync(server, bob);
    await setStatus(server, alice, { presence: 'online', status_msg: 'ignored' });
    await sync(server, alice);
    assert.deepEqual(await getStatus(server, alice, alice.userId), { presence: 'offline' });
    assert.deepEqual(await getStatus(server, bob, alice.userId), { presence: 'offline' });
    assert.equal((await sync(server, bob, { since })).presence, undefined);
    assert.equal((await sync(server, bob)).presence, undefined);
  });

  it('still refuses to set another user\'s presence', async () => {
    expectError(await server.request('PUT', statusPath(alice.userId), { token: bob.accessToken, body: { presence: 'online' } }), 403, 'M_FORBIDDEN');
  });
});

/**
 * Pushers: the API (GET /pushers, POST /pushers/set), and delivery to a push
 * gateway on loopback (a node:http server started here): the notify call, its
 * counts, retries, and rejected pushkeys.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const NOTIFY = '/_matrix/push/v1/notify';
const text = (body: string, extra: Record<string, unknown> = {}) => ({ msgtype: 'm.text', body, ...extra });

type Answer = { status: number; body: unknown };

/** A push gateway: records every request; answers as `answer` says (200 with no rejections by default). */
class Gateway {
  readonly requests: { path: string; body: any }[] = [];
  /** TCP connections accepted, requests or not. */
  connections = 0;
  answer: (body: any) => Answer = () => ({ status: 200, body: { rejected: [] } });
  private readonly server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw);
      this.requests.push({ path: req.url ?? '', body });
      const { status, body: answer } = this.answer(body);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
    });
  });

  async start(): Promise<string> {
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${NOTIFY}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The notifications received so far that `match`, once there are at least `n` (waits up to 5 s). */
  async received(n: number, match: (notification: any) => boolean = () => true): Promise<any[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.requests.map((r) => r.body.notification).filter(match);
      if (found.length >= n) return found;
      if (Date.now() > deadline) assert.fail(`expected ${n} notifications, got ${JSON.stringify(found)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('pushers', () => {
  let server: TestServer;
  let gateway: Gateway;
  let url: string;
  let alice: TestUser;

  before(async () => {
    server = await startServer({ push: { retry_initial_ms: 20, retry_max_ms: 50, max_attempts: 3, gateway_timeout_ms: 2000 } });
    gateway = new Gateway();
    url = await gateway.start();
    alice = await createUser(server, 'alice');
  });
  after(async () => {
    await server.stop();
    await gateway.stop();
  });

  const setPusher = (user: TestUser, body: unknown) => server.request('POST', `${V3}/pushers/set`, { token: user.accessToken, body });
  const pushers = async (user: TestUser) => (await server.request('GET', `${V3}/pushers`, { token: user.accessToken })).body.pushers;
  const httpPusher = (pushkey: string, data: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    kind: 'http',
    app_id: 'org.example.app',
    pushkey,
    app_display_name: 'Example',
    device_display_name: 'Phone',
    profile_tag: 'tag',
    lang: 'en',
    data: { url, ...data },
    ...extra,
  });

  describe('API', () => {
    it('sets, lists, replaces and deletes pushers', async () => {
      const user = await createUser(server, 'lister');
      assert.deepEqual(await pushers(user), []);
      const set = await setPusher(user, httpPusher('key-1', { format: 'event_id_only', custom: 'x' }));
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.deepEqual(set.body, {});
      assert.deepEqual(await pushers(user), [
        { pushkey: 'key-1', kind: 'http', app_id: 'org.example.app', app_display_name: 'Example', device_display_name: 'Phone', profile_tag: 'tag', lang: 'en', data: { url, format: 'event_id_only', custom: 'x' } },
      ]);
      assert.equal((await setPusher(user, { ...httpPusher('key-1'), device_display_name: 'Tablet' })).status, 200);
      assert.equal((await setPusher(user, { kind: 'email', app_id: 'm.email', pushkey: 'lister@example.org', app_display_name: 'Email', device_display_name: 'Inbox', lang: 'en', data: {} })).status, 200);
      const listed = await pushers(user);
      assert.deepEqual(listed.map((p: any) => [p.pushkey, p.device_display_name]), [['key-1', 'Tablet'], ['lister@example.org', 'Inbox']]);
      assert.equal((await setPusher(user, { kind: null, app_id: 'org.example.app', pushkey: 'key-1' })).status, 200);
      assert.deepEqual((await pushers(user)).map((p: any) => p.pushkey), ['lister@example.org']);
      assert.equal((await setPusher(user, { kind: null, app_id: 'org.example.app', pushkey: 'never-set' })).status, 200);
    });

    it('deletes a pusher with the device that set it: logout, then logout/all', async () => {
      const user = await createUser(server, 'leaver');
      const phone = await server.hs.services.accounts.startSession(user.userId, {});
      const tablet = await server.hs.services.accounts.startSession(user.userId, {});
      await setPusher(user, httpPusher('laptop-key'));
      await setPusher({ ...user, accessToken: phone.access_token }, httpPusher('phone-key'));
      await setPusher({ ...user, accessToken: tablet.access_token }, httpPusher('tablet-key'));
      assert.deepEqual((await pushers(user)).map((p: any) => p.pushkey), ['laptop-key', 'phone-key', 'tablet-key']);

      assert.equal((await server.request('POST', `${V3}/logout`, { token: phone.access_token, body: {} })).status, 200);
      assert.deepEqual((await pushers(user)).map((p: any) => p.pushkey), ['laptop-key', 'tablet-key']);
      assert.equal((await server.request('POST', `${V3}/logout/all`, { token: tablet.access_token, body: {} })).status, 200);
      assert.deepEqual(await server.hs.services.stores.pushers.of(user.userId), []);
    });

    it("removes other users' pushers with the same app_id and pushkey, unless append", async () => {
      const [one, two, three] = [await createUser(server, 'one'), await createUser(server, 'two'), await createUser(server, 'three')];
      await setPusher(one, httpPusher('shared'));
      await setPusher(two, httpPusher('shared', {}, { append: true }));
      assert.equal((await pushers(one)).length, 1, 'append keeps the first');
      await setPusher(three, httpPusher('shared'));
      assert.deepEqual([(await pushers(one)).length, (await pushers(two)).length, (await pushers(three)).length], [0, 0, 1]);
    });

    it('refuses bad pushers with the spec errors, writing nothing', async () => {
      const user = await createUser(server, 'refused');
      const { url: _url, ...noUrl } = httpPusher('k').data;
      const cases: [unknown, number, string][] = [
        [{ app_id: 'a', pushkey: 'k' }, 400, 'M_MISSING_PARAM'],
        [{ kind: 'http', pushkey: 'k' }, 400, 'M_MISSING_PARAM'],
        [{ kind: 'http', app_id: 'a' }, 400, 'M_MISSING_PARAM'],
        [{ kind: 'http', app_id: 'a', pushkey: 'k', app_display_name: 'A', device_display_name: 'D', data: { url } }, 400, 'M_MISSING_PARAM'],
        [{ ...httpPusher('k'), data: noUrl }, 400, 'M_MISSING_PARAM'],
        [{ ...httpPusher('k'), kind: 5 }, 400, 'M_BAD_JSON'],
        [{ ...httpPusher('k'), data: 'x' }, 400, 'M_BAD_JSON'],
        [{ ...httpPusher('k'), append: 'yes' }, 400, 'M_BAD_JSON'],
        [{ ...httpPusher('k'), kind: 'pigeon' }, 400, 'M_INVALID_PARAM'],
        [httpPusher('k', { url: 'http://127.0.0.1:1/elsewhere' }), 400, 'M_INVALID_PARAM'],
        [httpPusher('k', { url: 'not a url' }), 400, 'M_INVALID_PARAM'],
        [httpPusher('k', { format: 'everything' }), 400, 'M_INVALID_PARAM'],
        [{ ...httpPusher('k'), app_id: 'a'.repeat(65) }, 400, 'M_INVALID_PARAM'],
        [httpPusher('k'.repeat(513)), 400, 'M_INVALID_PARAM'],
      ];
      for (const [body, status, code] of cases) expectError(await setPusher(user, body), status, code);
      expectError(await server.request('POST', `${V3}/pushers/set`, { token: user.accessToken, rawBody: '{"kind":' }), 400, 'M_NOT_JSON');
      expectError(await server.request('POST', `${V3}/pushers/set`, { body: httpPusher('k') }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', `${V3}/pushers`), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', `${V3}/pushers`, { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
      assert.deepEqual(await pushers(user), []);
    });
  });

  describe('delivery to a push gateway on loopback', () => {
    /** A room of alice and `member`, who has a pusher with this pushkey; the gateway's record starts empty. */
    async function setUp(member: TestUser, pushkey: string, data: Record<string, unknown> = {}): Promise<string> {
      const roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Mission Control' });
      await join(server, member, roomId);
      assert.equal((await setPusher(member, httpPusher(pushkey, { custom: 'kept', ...data }))).status, 200);
      gateway.requests.length = 0;
      return roomId;
    }
    const forKey = (pushkey: string) => (n: any) => n.devices?.[0]?.pushkey === pushkey;

    it('receives the notify call with the event, the counts and the device', async () => {
      const user = await createUser(server, 'phone');
      const setName = await server.request('PUT', `${V3}/profile/${enc(alice.userId)}/displayname`, { token: alice.accessToken, body: { displayname: 'Major Tom' } });
      assert.equal(setName.status, 200);
      const roomId = await setUp(user, 'phone-key');
      const first = await send(server, alice, roomId, text("I'm floating"));
      const [notification] = await gateway.received(1, forKey('phone-key'));
      assert.equal(gateway.requests[0].path, NOTIFY);
      const { devices, ...rest } = notification;
      assert.deepEqual(rest, {
        event_id: first,
        room_id: roomId,
        type: 'm.room.message',
        sender: alice.userId,
        sender_display_name: 'Major Tom',
        room_name: 'Mission Control',
        prio: 'high',
        content: text("I'm floating"),
        counts: { unread: 1 },
      });
      assert.equal(devices.length, 1);
      const [device] = devices;
      assert.deepEqual({ ...device, pushkey_ts: 0 }, { app_id: 'org.example.app', pushkey: 'phone-key', pushkey_ts: 0, data: { custom: 'kept' }, tweaks: { sound: 'default' } }, '.m.rule.room_one_to_one');
      assert.ok(Number.isInteger(device.pushkey_ts) && Math.abs(device.pushkey_ts - Date.now() / 1000) < 600, 'seconds');

      await send(server, alice, roomId, text('can you hear me', { 'm.mentions': { user_ids: [user.userId] } }));
      const [, mention] = await gateway.received(2, forKey('phone-key'));
      assert.deepEqual(mention.counts, { unread: 2 });
      assert.equal(mention.prio, 'high');
      assert.deepEqual(mention.devices[0].tweaks, { sound: 'default', highlight: true });
    });

    it('counts unread notifications across rooms, calls apart, and pending invites', async () => {
      const user = await createUser(server, 'counter');
      const roomId = await setUp(user, 'counter-key');
      const other = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, user, other);
      await send(server, alice, other, text('elsewhere'));
      await send(server, alice, roomId, { call_id: 'c', version: '1', lifetime: 60000, offer: { type: 'offer', sdp: 'x' } }, 'm.call.invite');
      const found = await gateway.received(2, forKey('counter-key'));
      assert.deepEqual(found.map((n) => n.counts), [{ unread: 1 }, { unread: 2, missed_calls: 1 }]);
      assert.deepEqual(found[1].devices[0].tweaks, { sound: 'ring' });

      const third = await createRoom(server, alice, { preset: 'private_chat', invite: [user.userId] });
      const [, , invite] = await gateway.received(3, forKey('counter-key'));
      assert.equal(invite.type, 'm.room.member');
      assert.equal(invite.user_is_target, true);
      assert.deepEqual(invite.counts, { unread: 3, missed_calls: 1 }, 'a pending invite counts');
      await join(server, user, third);
      await send(server, alice, third, text('welcome'));
      const [, , , welcome] = await gateway.received(4, forKey('counter-key'));
      assert.deepEqual(welcome.counts, { unread: 3, missed_calls: 1 }, 'the answered invite no longer does');
    });

    it('ranks a plain message in a group room low', async () => {
      const user = await createUser(server, 'grouped');
      const roomId = await setUp(user, 'grouped-key');
      await join(server, await createUser(server, 'third'), roomId);
      await send(server, alice, roomId, text('to the group'));
      const [notification] = await gateway.received(1, forKey('grouped-key'));
      assert.equal(notification.prio, 'low');
      assert.deepEqual(notification.devices[0].tweaks, {});
    });

    it('sends only the event ID, room ID, counts and devices to an event_id_only pusher', async () => {
      const user = await createUser(server, 'minimal');
      const roomId = await setUp(user, 'minimal-key', { format: 'event_id_only' });
      const event = await send(server, alice, roomId, text('secret content'));
      const [notification] = await gateway.received(1, forKey('minimal-key'));
      assert.deepEqual(Object.keys(notification).sort(), ['counts', 'devices', 'event_id', 'prio', 'room_id']);
      assert.equal(notification.event_id, event);
      assert.deepEqual(notification.devices[0].data, { custom: 'kept', format: 'event_id_only' });
    });

    it('sends the new counts alone after a read receipt, and nothing for own events', async () => {
      const user = await createUser(server, 'reader');
      const roomId = await setUp(user, 'reader-key');
      const event = await send(server, alice, roomId, text('read me'));
      await gateway.received(1, forKey('reader-key'));
      await send(server, user, roomId, text('my own message'));
      const res = await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(event)}`), { token: user.accessToken, body: {} });
      assert.equal(res.status, 200);
      const found = await gateway.received(2, forKey('reader-key'));
      assert.equal(found.length, 2, 'the own message sent nothing');
      assert.deepEqual(found[1], { prio: 'low', counts: { unread: 0 }, devices: [{ app_id: 'org.example.app', pushkey: 'reader-key', pushkey_ts: found[0].devices[0].pushkey_ts, data: { custom: 'kept' } }] });
    });

    it('deletes the pusher of a pushkey the gateway rejects', async () => {
      const user = await createUser(server, 'rejected');
      const roomId = await setUp(user, 'stale-key');
      await setPusher(user, httpPusher('good-key'));
      gateway.answer = (body) => ({ status: 200, body: { rejected: body.notification.devices.map((d: any) => d.pushkey).filter((k: string) => k === 'stale-key') } });
      try {
        await send(server, alice, roomId, text('hello'));
        await gateway.received(1, forKey('stale-key'));
        await gateway.received(1, forKey('good-key'));
        for (let i = 0; i < 100 && (await pushers(user)).length > 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.deepEqual((await pushers(user)).map((p: any) => p.pushkey), ['good-key']);
        await send(server, alice, roomId, text('again'));
        await gateway.received(2, forKey('good-key'));
        assert.equal((await gateway.received(1, forKey('stale-key'))).length, 1, 'nothing more for the rejected pushkey');
      } finally {
        gateway.answer = () => ({ status: 200, body: { rejected: [] } });
      }
    });

    it('retries a failed notification with backoff, in order, and drops one the gateway refuses', async () => {
      const user = await createUser(server, 'retried');
      const roomId = await setUp(user, 'flaky-key');
      let failures = 2;
      gateway.answer = (body) => {
        if (body.notification.content.body === 'refused') return { status: 400, body: { errcode: 'M_BAD_JSON' } };
        return failures-- > 0 ? { status: 500, body: {} } : { status: 200, body: { rejected: [] } };
      };
      try {
        const first = await send(server, alice, roomId, text('first'));
        const second = await send(server, alice, roomId, text('second'));
        const ids = (await gateway.received(4, forKey('flaky-key'))).map((n) => n.event_id);
        assert.deepEqual(ids, [first, first, first, second], 'two failures, then both in order');

        const refused = await send(server, alice, roomId, text('refused'));
        const after = await send(server, alice, roomId, text('after'));
        const more = (await gateway.received(6, forKey('flaky-key'))).map((n) => n.event_id).slice(4);
        assert.deepEqual(more, [refused, after], 'a 400 is not retried');
      } finally {
        gateway.answer = () => ({ status: 200, body: { rejected: [] } });
      }
    });

    it('gives up after max_attempts and goes on with the next notification', async () => {
      const user = await createUser(server, 'abandoned');
      const roomId = await setUp(user, 'down-key');
      gateway.answer = (body) => (body.notification.content.body === 'doomed' ? { status: 503, body: {} } : { status: 200, body: { rejected: [] } });
      try {
        const doomed = await send(server, alice, roomId, text('doomed'));
        const next = await send(server, alice, roomId, text('next'));
        const ids = (await gateway.received(4, forKey('down-key'))).map((n) => n.event_id);
        assert.deepEqual(ids, [doomed, doomed, doomed, next]);
      } finally {
        gateway.answer = () => ({ status: 200, body: { rejected: [] } });
      }
    });
  });
});

describe('pushers: the outbound address policy', () => {
  it('with the default ip_range_denylist and no allowlist, never connects to a push gateway on 127.0.0.1', async () => {
    const server = await startServer({ ip_range_allowlist: [], push: { max_attempts: 1, gateway_timeout_ms: 2000 } });
    const gateway = new Gateway();
    try {
      const url = await gateway.start();
      const [alice, bob] = [await createUser(server, 'alice'), await createUser(server, 'bob')];
      assert.deepEqual(server.config.ip_range_allowlist, []);
      const set = await server.request('POST', `${V3}/pushers/set`, {
        token: bob.accessToken,
        body: { kind: 'http', app_id: 'org.example.app', pushkey: 'k', app_display_name: 'A', device_display_name: 'D', lang: 'en', data: { url } },
      });
      assert.equal(set.status, 200, 'the URL itself is acceptable');
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, roomId);
      await send(server, alice, roomId, text('hello?'));
      // Delivery to an allowed gateway takes milliseconds (the tests above); this one must not happen at all.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.deepEqual(gateway.requests, []);
      assert.equal(gateway.connections, 0);
    } finally {
      await server.stop();
      await gateway.stop();
    }
  });
});

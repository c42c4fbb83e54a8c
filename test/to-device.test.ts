import assert from 'node:assert/strict';
import { deviceKey, userKey, type WakeKey } from '../server/sync/notifier';
import { parseSyncToken } from '../server/sync/token';
import { isPostgresDb } from '../storage/transactions';
import { enc } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const MAX_BODY = 64 * 1024;

describe('send-to-device messaging', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let txn = 0;

  before(async () => {
    server = await startServer({ max_request_body_bytes: MAX_BODY });
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  /** A new device (login) of the user, so each test starts with an empty queue. */
  async function newDevice(user: TestUser): Promise<TestUser> {
    const session = await server.hs.services.accounts.startSession(user.userId, {});
    return { ...user, deviceId: session.device_id, accessToken: session.access_token };
  }

  const sendPath = (type: string, txnId: string) => `${V3}/sendToDevice/${enc(type)}/${enc(txnId)}`;

  function sendRaw(from: TestUser, messages: unknown, options: { type?: string; txnId?: string } = {}) {
    return server.request('PUT', sendPath(options.type ?? 'org.example.ping', options.txnId ?? `t${++txn}`), { token: from.accessToken, body: { messages } });
  }

  async function send(from: TestUser, messages: unknown, options: { type?: string; txnId?: string } = {}): Promise<void> {
    const res = await sendRaw(from, messages, options);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
  }

  /** A sync of the device; it leaves presence alone, so that only to-device messages wake it. */
  async function sync(device: TestUser, params: Record<string, string | number> = {}): Promise<any> {
    const query = new URLSearchParams(Object.entries({ set_presence: 'offline', ...params }).map(([k, v]) => [k, String(v)]));
    const res = await server.request('GET', `${V3}/sync?${query}`, { token: device.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  const messagesOf = (body: any): any[] => body.to_device?.events ?? [];
  const contents = (body: any) => messagesOf(body).map((event) => event.content);

  async function queued(device: TestUser): Promise<number> {
    const rows = await server.hs.services.stores.db('device_inbox').where({ user_id: device.userId, device_id: device.deviceId }).count({ n: '*' });
    return Number(rows[0].n);
  }

  it('delivers messages to the device they name, in order, with sender and type', async () => {
    const phone = await newDevice(alice);
    const laptop = await newDevice(alice);
    for (const n of [1, 2, 3]) await send(bob, { [alice.userId]: { [phone.deviceId]: { n } } }, { type: 'm.room_key_request' });

    const body = await sync(phone);
    assert.deepEqual(messagesOf(body), [1, 2, 3].map((n) => ({ type: 'm.room_key_request', sender: bob.userId, content: { n } })));
    assert.deepEqual(messagesOf(await sync(laptop)), []);
  });

  it('sends to every device of a user with *, and a device named beside * gets its own message', async () => {
    const one = await newDevice(alice);
    const two = await newDevice(alice);
    await send(bob, { [alice.userId]: { '*': { to: 'all' } } });
    assert.deepEqual(contents(await sync(one)), [{ to: 'all' }]);
    assert.deepEqual(contents(await sync(two)), [{ to: 'all' }]);

    const { next_batch: oneSince } = await sync(one);
    const { next_batch: twoSince } = await sync(two);
    await send(bob, { [alice.userId]: { '*': { to: 'all' }, [two.deviceId]: { to: 'two' } } });
    assert.deepEqual(contents(await sync(one, { since: oneSince })), [{ to: 'all' }]);
    assert.deepEqual(contents(await sync(two, { since: twoSince })), [{ to: 'two' }]);
  });

  it('sends to several users at once', async () => {
    const carol = await createUser(server, 'carol');
    const device = await newDevice(alice);
    await send(bob, { [alice.userId]: { [device.deviceId]: { for: 'alice' } }, [carol.userId]: { [carol.deviceId]: { for: 'carol' } } });
    assert.deepEqual(contents(await sync(device)), [{ for: 'alice' }]);
    assert.deepEqual(contents(await sync(carol)), [{ for: 'carol' }]);
  });

  it('treats a repeated transaction ID of the same device as a retransmission', async () => {
    const device = await newDevice(alice);
    const sender = await newDevice(bob);
    const to = (n: number) => ({ [alice.userId]: { [device.deviceId]: { n } } });
    await send(sender, to(1), { txnId: 'same' });
    await send(sender, to(2), { txnId: 'same' });
    // Transaction IDs belong to the sending device: another device of the same user may reuse one.
    await send(await newDevice(bob), to(3), { txnId: 'same' });
    assert.deepEqual(contents(await sync(device)), [{ n: 1 }, { n: 3 }]);
  });

  it('delivers again a response the client never read, and deletes messages once acknowledged', async () => {
    const device = await newDevice(alice);
    const { next_batch: before } = await sync(device);
    await send(bob, { [alice.userId]: { [device.deviceId]: { n: 1 } } });
    await send(bob, { [alice.userId]: { [device.deviceId]: { n: 2 } } });

    const lost = await sync(device, { since: before });
    assert.deepEqual(contents(lost), [{ n: 1 }, { n: 2 }]);
    // The response was lost: the client repeats its old token and gets the same messages.
    const again = await sync(device, { since: before });
    assert.deepEqual(contents(again), [{ n: 1 }, { n: 2 }]);
    assert.equal(await queued(device), 2);

    // Syncing from the new token acknowledges them: they are gone for good.
    assert.deepEqual(contents(await sync(device, { since: again.next_batch })), []);
    assert.equal(await queued(device), 0);
    assert.deepEqual(contents(await sync(device, { since: before })), []);
  });

  it('sends at most 100 per response, and the rest at once in the next', async () => {
    const device = await newDevice(alice);
    const { next_batch: before } = await sync(device);
    // Ten senders at a time (the order within a batch is the order of arrival, tested above).
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => send(bob, { [alice.userId]: { [device.deviceId]: { n: batch * 10 + i } } })));
    }
    const sorted = (body: any) => contents(body).map((content) => content.n as number).sort((a, b) => a - b);
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

    // Each batch of ten arrived after the one before, so the first hundred are batches 0 to 9.
    const first = await sync(device, { since: before });
    assert.deepEqual(sorted(first), range(0, 100));
    // Not `timeout`'s worth of waiting: the rest are already there.
    const second = await sync(device, { since: first.next_batch, timeout: 30000 });
    assert.deepEqual(sorted(second), range(100, 150));
    assert.ok(parseSyncToken(second.next_batch).to_device > parseSyncToken(first.next_batch).to_device);
    assert.deepEqual(contents(await sync(device, { since: second.next_batch })), []);
    assert.equal(await queued(device), 0);
  });

  it('wakes the waiting /sync of the target device, and no other', async () => {
    const target = await newDevice(alice);
    const other = await newDevice(alice);
    const { next_batch: targetSince } = await sync(target);
    const { next_batch: otherSince } = await sync(other);

    const announced: WakeKey[] = [];
    const stopListening = server.hs.services.notifier.onNotify((keys) => announced.push(...keys));
    try {
      const waiting = server.hs.services.notifier.waiters;
      const targetPoll = sync(target, { since: targetSince, timeout: 10000 });
      const otherPoll = sync(other, { since: otherSince, timeout: 1000 });
      while (server.hs.services.notifier.waiters < waiting + 2) await new Promise((resolve) => setTimeout(resolve, 10));

      await send(bob, { [alice.userId]: { [target.deviceId]: { wake: 'up' } } });
      assert.deepEqual(contents(await targetPoll), [{ wake: 'up' }]);
      assert.deepEqual(announced, [deviceKey(alice.userId, target.deviceId)]);
      assert.ok(!announced.includes(userKey(alice.userId)));
      assert.deepEqual(messagesOf(await otherPoll), []);
    } finally {
      stopListening();
    }
  });

  it('keeps readers below messages whose transaction is still open', async () => {
    const { db, deviceInbox } = server.hs.services.stores;
    const device = await newDevice(alice);
    const message = { userId: alice.userId, deviceId: device.deviceId, content: {} };
    const before = await deviceInbox.positions.latest();
    const whileOpen: number[] = [];
    await db.transaction(async (trx) => {
      await deviceInbox.enqueue(trx, bob.userId, 'org.example.slow', [message, message]);
      whileOpen.push(await deviceInbox.positions.latest());
      // PostgreSQL lets a later writer commit first; SQLite has one writer at a time.
      if (isPostgresDb(db)) {
        await deviceInbox.enqueue(db, bob.userId, 'org.example.fast', [message]);
        whileOpen.push(await deviceInbox.positions.latest());
      }
    });
    assert.deepEqual(whileOpen, whileOpen.map(() => before));
    const all = await deviceInbox.pending(alice.userId, device.deviceId, before, await deviceInbox.positions.latest(), 10);
    assert.equal(all.length, isPostgresDb(db) ? 3 : 2);
  });

  it("deletes a device's queue with the device", async () => {
    const device = await newDevice(alice);
    await send(bob, { [alice.userId]: { [device.deviceId]: { n: 1 } } });
    assert.equal(await queued(device), 1);
    await server.hs.services.stores.devices.delete(alice.userId, [device.deviceId]);
    assert.equal(await queued(device), 0);
  });

  it('skips unknown users and devices and users of other servers silently', async () => {
    const device = await newDevice(alice);
    await send(bob, {
      '@ghost:localhost': { '*': { n: 1 }, GHOSTDEVICE: { n: 2 } },
      '@remote:elsewhere.example': { DEVICE: { n: 3 } },
      [alice.userId]: { NOSUCHDEVICE: { n: 4 }, [device.deviceId]: { n: 5 } },
    });
    assert.deepEqual(contents(await sync(device)), [{ n: 5 }]);
    await send(bob, {});
  });

  it('lets guests send', async () => {
    const device = await newDevice(alice);
    const guestId = await server.hs.services.accounts.createGuest();
    const session = await server.hs.services.accounts.startSession(guestId, {});
    const guest: TestUser = { userId: guestId, deviceId: session.device_id, accessToken: session.access_token, password: '' };
    await send(guest, { [alice.userId]: { [device.deviceId]: { from: 'guest' } } });
    const [event] = messagesOf(await sync(device));
    assert.equal(event.sender, guestId);
  });

  describe('errors', () => {
    it('validates the body, writing nothing and keeping the transaction ID free', async () => {
      const device = await newDevice(alice);
      const valid = { [alice.userId]: { [device.deviceId]: { ok: true } } };
      const bad: [unknown, number, string][] = [
        [undefined, 400, 'M_MISSING_PARAM'],
        [[], 400, 'M_BAD_JSON'],
        ['text', 400, 'M_BAD_JSON'],
        [{ [alice.userId]: 'text' }, 400, 'M_BAD_JSON'],
        [{ [alice.userId]: { [device.deviceId]: 'text' } }, 400, 'M_BAD_JSON'],
        [{ [alice.userId]: { [device.deviceId]: [1] } }, 400, 'M_BAD_JSON'],
        [{ notauser: { [device.deviceId]: {} } }, 400, 'M_INVALID_PARAM'],
      ];
      for (const [messages, status, errcode] of bad) {
        const body = messages === undefined ? {} : { messages };
        expectError(await server.request('PUT', sendPath('org.example.ping', 'retry'), { token: bob.accessToken, body }), status, errcode);
      }
      const malformed = await server.request('PUT', sendPath('org.example.ping', 'retry'), { token: bob.accessToken, rawBody: '{"messages": {' });
      expectError(malformed, 400, 'M_NOT_JSON');
      const oversize = { [alice.userId]: { [device.deviceId]: { pad: 'x'.repeat(MAX_BODY) } } };
      expectError(await sendRaw(bob, oversize, { txnId: 'retry' }), 413, 'M_TOO_LARGE');

      assert.equal(await queued(device), 0);
      await send(bob, valid, { txnId: 'retry' });
      assert.deepEqual(contents(await sync(device)), [{ ok: true }]);
    });

    it('rejects an event type or transaction ID over 255 bytes with 400 M_INVALID_PARAM', async () => {
      const device = await newDevice(alice);
      const messages = { [alice.userId]: { [device.deviceId]: {} } };
      expectError(await sendRaw(bob, messages, { type: `org.example.${'t'.repeat(250)}` }), 400, 'M_INVALID_PARAM');
      expectError(await sendRaw(bob, messages, { txnId: 'x'.repeat(256) }), 400, 'M_INVALID_PARAM');
      assert.equal(await queued(device), 0);
    });

    it('needs a valid access token', async () => {
      const messages = { [alice.userId]: { '*': {} } };
      expectError(await server.request('PUT', sendPath('org.example.ping', 'x'), { body: { messages } }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('PUT', sendPath('org.example.ping', 'x'), { token: 'nope', body: { messages } }), 401, 'M_UNKNOWN_TOKEN');
    });
  });
});

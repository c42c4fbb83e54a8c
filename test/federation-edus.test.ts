/**
 * EDUs and remote users' devices between real Weft servers on loopback TLS:
 * A has a room with its user alice, which B's user bob joined (a join B signed
 * and pushed with PUT /send). What B's server sends A goes through PUT /send
 * signed by B; what A sends B is caught by handlers the test registers on B.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { authEventsSelection } from '../spec/auth-events';
import type { RoomEvent } from '../spec/pdu';
import { CREATE_TUPLE } from '../spec/power-levels';
import { roomVersion } from '../spec/room-versions';
import { signJson, signingKeyPair, type SigningKeyPair } from '../spec/signing';
import { parseSigningKey, unpaddedBase64 } from '../spec/signing-key';
import { buildEvent, type EventDraft } from '../server/rooms/event-builder';
import { freePort } from './helpers/key-server';
import { startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, enc, roomPath, send } from './helpers/rooms';
import { createUser, type TestServer, type TestUser } from './helpers/server';
import { joinedRoom, sync } from './helpers/sync';

const V3 = '/_matrix/client/v3';
const SEND = '/_matrix/federation/v1/send';

/** Waits until `check` returns something other than undefined, or fails after `ms`. */
async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A device's identity keys signed by its own ed25519 key, and signed one-time keys. */
function deviceKeysFor(userId: string, deviceId: string) {
  const seed = randomBytes(32);
  const key = signingKeyPair({ keyId: `ed25519:${deviceId}`, seed });
  const keys = signJson(
    {
      user_id: userId,
      device_id: deviceId,
      algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: unpaddedBase64(randomBytes(32)), [`ed25519:${deviceId}`]: key.publicKeyBase64 },
    },
    userId,
    key,
  );
  const oneTimeKeys = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`signed_curve25519:K${i}`, signJson({ key: unpaddedBase64(randomBytes(32)) }, userId, key)]));
  return { keys, oneTimeKeys };
}

/** A cross-signing key of `usage`, signed by `signer` (the master key) unless it is the master key. */
function crossSigningKey(userId: string, usage: string, signer?: { seed: Buffer; publicKey: string }) {
  const seed = randomBytes(32);
  const publicKey = signingKeyPair({ keyId: 'ed25519:x', seed }).publicKeyBase64;
  const key = { user_id: userId, usage: [usage], keys: { [`ed25519:${publicKey}`]: publicKey } };
  const signed = signer ? signJson(key, userId, signingKeyPair({ keyId: `ed25519:${signer.publicKey}`, seed: signer.seed })) : key;
  return { key: signed, seed, publicKey };
}

describe('federation: EDUs and remote users’ devices', function () {
  this.timeout(60_000);
  let a: FederatedServer;
  let b: FederatedServer;
  let alice: TestUser;
  let carol: TestUser;
  let bob: TestUser;
  let bKey: SigningKeyPair;
  let roomId: string;
  let txn = 0;
  /** EDUs A sent to B, by type, as B's handlers caught them. */
  const caught = new Map<string, { origin: string; content: any }[]>();

  const post = (server: TestServer, user: TestUser, path: string, body: unknown) => server.request('POST', `${V3}${path}`, { token: user.accessToken, body });
  const sendFromB = (edus: unknown[], txnId = `e${++txn}`) =>
    b.hs.federation.client.put<any>(a.name, `${SEND}/${txnId}`, { origin: b.name, origin_server_ts: Date.now(), pdus: [], edus });
  const caughtOf = (type: string) => caught.get(type) ?? [];

  /** An event by B's user built on A's view of the room, as B would build it after make_join. */
  async function onA(room: string, draft: EventDraft): Promise<RoomEvent> {
    const { stores } = a.hs.services;
    const version = roomVersion((await stores.rooms.get(room))!.version)!;
    const tuples = new Set(authEventsSelection({ ...draft, state_key: draft.stateKey }, version));
    tuples.add(CREATE_TUPLE);
    const parents = (await stores.events.forwardExtremities(room)).map((e) => ({ id: e.eventId, depth: e.depth, sha256: '' }));
    return buildEvent(draft, { version, roomId: room, serverName: b.name, signingKey: bKey, nowMs: Date.now(), state: await stores.roomState.currentStateEvents(room, tuples), parents });
  }

  /** A room of alice's on A that `userId` of B joined. */
  async function roomWith(userId: string): Promise<string> {
    const room = await createRoom(a, alice, { preset: 'public_chat' });
    const join = await onA(room, { type: 'm.room.member', sender: userId, stateKey: userId, content: { membership: 'join' } });
    const answer = await b.hs.federation.client.put<any>(a.name, `${SEND}/j${++txn}`, { origin: b.name, origin_server_ts: Date.now(), pdus: [join.pdu], edus: [] });
    assert.deepEqual(answer, { pdus: { [join.id]: {} } });
    return room;
  }

  before(async () => {
    [a, b] = await startFederation(2);
    alice = await createUser(a, 'alice');
    carol = await createUser(a, 'carol');
    bob = await createUser(b, 'bob');
    bKey = signingKeyPair(parseSigningKey(b.config.signing_key));
    roomId = await roomWith(bob.userId);
    for (const type of ['m.typing', 'm.receipt', 'm.presence', 'm.device_list_update', 'm.signing_key_update']) {
      b.hs.federation.transactions.onEdu(type, async (origin, content) => {
        caught.set(type, [...caughtOf(type), { origin, content }]);
      });
    }
  });
  after(() => stopAll([a, b]));

  describe('typing', () => {
    it("shows B's user typing in A's user's /sync, and ends it when the typing times out", async () => {
      a.hs.federation.edus.remoteTypingTimeoutMs = 1000;
      const { next_batch: since } = await sync(a, alice);
      await sendFromB([{ edu_type: 'm.typing', content: { room_id: roomId, user_id: bob.userId, typing: true } }]);
      const typing = await sync(a, alice, { since, timeout: 5000 });
      assert.deepEqual(joinedRoom(typing, roomId).ephemeral.events, [{ type: 'm.typing', content: { user_ids: [bob.userId] } }]);
      const stopped = await sync(a, alice, { since: typing.next_batch, timeout: 5000 });
      assert.deepEqual(joinedRoom(stopped, roomId).ephemeral.events, [{ type: 'm.typing', content: { user_ids: [] } }]);
    });

    it('ignores typing of a user of another server, of a user not in the room, and in a room whose ACL denies B', async () => {
      a.hs.federation.edus.remoteTypingTimeoutMs = 30_000;
      const denied = await roomWith(bob.userId);
      const acl = await a.request('PUT', roomPath(denied, '/state/m.room.server_acl/'), { token: alice.accessToken, body: { allow: ['*'], deny: ['127.0.0.1'], allow_ip_literals: true } });
      assert.equal(acl.status, 200);
      await sendFromB([
        { edu_type: 'm.typing', content: { room_id: roomId, user_id: alice.userId, typing: true } },
        { edu_type: 'm.typing', content: { room_id: roomId, user_id: `@nobody:${b.name}`, typing: true } },
        { edu_type: 'm.typing', content: { room_id: denied, user_id: bob.userId, typing: true } },
        { edu_type: 'm.typing', content: { room_id: roomId, user_id: bob.userId, typing: 'yes' } },
      ]);
      assert.deepEqual(a.hs.services.typing.in(roomId).userIds, []);
      assert.deepEqual(a.hs.services.typing.in(denied).userIds, []);
    });

    it("sends A's user's typing, and its end, to B", async () => {
      const path = roomPath(roomId, `/typing/${enc(alice.userId)}`);
      assert.equal((await a.request('PUT', path, { token: alice.accessToken, body: { typing: true, timeout: 10_000 } })).status, 200);
      const started = await until(() => caughtOf('m.typing').find((e) => e.content.typing === true), 'm.typing');
      assert.deepEqual(started, { origin: a.name, content: { room_id: roomId, user_id: alice.userId, typing: true } });
      assert.equal((await a.request('PUT', path, { token: alice.accessToken, body: { typing: false } })).status, 200);
      await until(() => caughtOf('m.typing').find((e) => e.content.typing === false), 'the end of the typing');
    });
  });

  describe('receipts', () => {
    it("shows B's user's read receipt in A's user's /sync, and ignores one for a user of another server", async () => {
      const eventId = await send(a, alice, roomId, { msgtype: 'm.text', body: 'read me' });
      const { next_batch: since } = await sync(a, alice);
      const receipt = (userId: string) => ({ [userId]: { event_ids: [eventId], data: { ts: 1234 } } });
      await sendFromB([{ edu_type: 'm.receipt', content: { [roomId]: { 'm.read': { ...receipt(bob.userId), ...receipt(carol.userId) } } } }]);
      const body = await sync(a, alice, { since, timeout: 5000 });
      const ephemeral = joinedRoom(body, roomId).ephemeral.events.filter((e: any) => e.type === 'm.receipt');
      assert.deepEqual(ephemeral, [{ type: 'm.receipt', content: { [eventId]: { 'm.read': { [bob.userId]: { ts: 1234 } } } } }]);
    });

    it('ignores the receipts of a room whose ACL denies B', async () => {
      const denied = await roomWith(bob.userId);
      const eventId = await send(a, alice, denied, { msgtype: 'm.text', body: 'read me' });
      const acl = await a.request('PUT', roomPath(denied, '/state/m.room.server_acl/'), { token: alice.accessToken, body: { allow: ['*'], deny: ['127.0.0.1'], allow_ip_literals: true } });
      assert.equal(acl.status, 200);
      await sendFromB([{ edu_type: 'm.receipt', content: { [denied]: { 'm.read': { [bob.userId]: { event_ids: [eventId], data: { ts: 1 } } } } } }]);
      assert.deepEqual(await a.hs.services.stores.receipts.current([denied], await a.hs.services.stores.receipts.positions.latest(), alice.userId), []);
    });

    it("sends A's user's public receipt to B, and never a private one", async () => {
      const first = await send(a, alice, roomId, { msgtype: 'm.text', body: 'one' });
      const second = await send(a, alice, roomId, { msgtype: 'm.text', body: 'two' });
      const receiptPath = (type: string, eventId: string) => roomPath(roomId, `/receipt/${type}/${enc(eventId)}`);
      assert.equal((await a.request('POST', receiptPath('m.read.private', first), { token: alice.accessToken, body: {} })).status, 200);
      assert.equal((await a.request('POST', receiptPath('m.read', second), { token: alice.accessToken, body: {} })).status, 200);
      const edu = await until(() => caughtOf('m.receipt').find((e) => e.content[roomId]?.['m.read']?.[alice.userId]), 'm.receipt');
      assert.deepEqual(edu.content[roomId]['m.read'][alice.userId].event_ids, [second]);
      assert.equal(typeof edu.content[roomId]['m.read'][alice.userId].data.ts, 'number');
      assert.ok(caughtOf('m.receipt').every((e) => JSON.stringify(e.content).indexOf(first) === -1), 'a private receipt left A');
    });
  });

  describe('presence', () => {
    it("shows B's user's presence to A's users who share a room with them, and to no one else", async () => {
      const [aliceSince, carolSince] = [(await sync(a, alice)).next_batch, (await sync(a, carol)).next_batch];
      const stranger = `@stranger:${b.name}`;
      await sendFromB([
        {
          edu_type: 'm.presence',
          content: {
            push: [
              { user_id: bob.userId, presence: 'online', status_msg: 'on B', last_active_ago: 1000, currently_active: true },
              { user_id: stranger, presence: 'online', last_active_ago: 10 },
              { user_id: alice.userId, presence: 'offline', last_active_ago: 10 },
            ],
          },
        },
      ]);
      const body = await sync(a, alice, { since: aliceSince, timeout: 5000 });
      const bobs = (body.presence?.events ?? []).filter((e: any) => e.sender === bob.userId);
      assert.equal(bobs.length, 1, JSON.stringify(body.presence));
      assert.equal(bobs[0].content.presence, 'online');
      assert.equal(bobs[0].content.status_msg, 'on B');
      assert.equal(bobs[0].content.currently_active, true);
      assert.ok(bobs[0].content.last_active_ago >= 1000);
      const carolSees = await sync(a, carol, { since: carolSince, timeout: 0 });
      assert.ok(!(carolSees.presence?.events ?? []).some((e: any) => e.sender === bob.userId));
      assert.equal(await a.hs.services.stores.presence.get(stranger), undefined);
      assert.equal((await a.hs.services.stores.presence.get(alice.userId))?.state, 'online');
    });

    it("sends A's user's presence to B, which shares a room with them, and not a user's who shares none", async () => {
      const statusPath = (user: TestUser) => `${V3}/presence/${enc(user.userId)}/status`;
      assert.equal((await a.request('PUT', statusPath(carol), { token: carol.accessToken, body: { presence: 'online', status_msg: 'carol here' } })).status, 200);
      assert.equal((await a.request('PUT', statusPath(alice), { token: alice.accessToken, body: { presence: 'unavailable', status_msg: 'away from A' } })).status, 200);
      const edu = await until(() => caughtOf('m.presence').find((e) => e.content.push.some((p: any) => p.status_msg === 'away from A')), 'm.presence');
      const update = edu.content.push.find((p: any) => p.user_id === alice.userId);
      assert.equal(update.presence, 'unavailable');
      assert.equal(typeof update.last_active_ago, 'number');
      assert.ok(caughtOf('m.presence').every((e) => e.content.push.every((p: any) => p.user_id !== carol.userId)));
    });
  });

  describe('send-to-device', () => {
    const toDeviceOf = async (user: TestUser, since?: string) => {
      const body = await sync(b, user, { ...(since ? { since } : {}), timeout: since ? 5000 : 0, set_presence: 'offline' });
      return { events: body.to_device?.events ?? [], next: body.next_batch as string };
    };

    it("delivers A's user's message to B's user's device, once, however often the request or the EDU is repeated", async () => {
      const { next } = await toDeviceOf(bob);
      const path = `${V3}/sendToDevice/org.example.ping/${enc('retried-txn')}`;
      const body = { messages: { [bob.userId]: { [bob.deviceId]: { n: 1 } }, [carol.userId]: { [carol.deviceId]: { n: 'local' } } } };
      assert.equal((await a.request('PUT', path, { token: alice.accessToken, body })).status, 200);
      const first = await toDeviceOf(bob, next);
      assert.deepEqual(first.events, [{ sender: alice.userId, type: 'org.example.ping', content: { n: 1 } }]);
      assert.equal((await a.request('PUT', path, { token: alice.accessToken, body })).status, 200);

      // The same EDU again, in a retried transaction and in another one.
      const edu = { edu_type: 'm.direct_to_device', content: { sender: alice.userId, type: 'org.example.ping', message_id: 'm-once', messages: { [bob.userId]: { '*': { n: 2 } } } } };
      const transaction = { origin: a.name, origin_server_ts: Date.now(), pdus: [], edus: [edu] };
      for (const txnId of ['x1', 'x1', 'x2']) await a.hs.federation.client.put(b.name, `${SEND}/${txnId}`, transaction);
      const second = await toDeviceOf(bob, first.next);
      assert.deepEqual(second.events, [{ sender: alice.userId, type: 'org.example.ping', content: { n: 2 } }]);
      const after = await sync(b, bob, { since: second.next, timeout: 500, set_presence: 'offline' });
      assert.deepEqual(after.to_device?.events ?? [], []);
    });

    it('addresses every device of the user with *, and ignores a sender who is not of the sending server', async () => {
      const phone = await b.hs.services.accounts.startSession(bob.userId, {});
      const phoneUser = { ...bob, deviceId: phone.device_id, accessToken: phone.access_token };
      const [{ next: bobSince }, { next: phoneSince }] = [await toDeviceOf(bob), await toDeviceOf(phoneUser)];
      const forged = { edu_type: 'm.direct_to_device', content: { sender: `@mallory:${b.name}`, type: 't', message_id: 'forged', messages: { [bob.userId]: { '*': { n: 'forged' } } } } };
      const edu = { edu_type: 'm.direct_to_device', content: { sender: alice.userId, type: 't', message_id: 'all', messages: { [bob.userId]: { '*': { n: 'all' } } } } };
      await a.hs.federation.client.put(b.name, `${SEND}/star`, { origin: a.name, origin_server_ts: Date.now(), pdus: [], edus: [forged, edu] });
      assert.deepEqual((await toDeviceOf(bob, bobSince)).events.map((e: any) => e.content.n), ['all']);
      assert.deepEqual((await toDeviceOf(phoneUser, phoneSince)).events.map((e: any) => e.content.n), ['all']);
    });
  });

  describe("remote users' keys and device lists", () => {
    let bobKeys: ReturnType<typeof deviceKeysFor>;
    const bLatest = () => b.hs.services.stores.deviceListChanges.latestPublic(bob.userId);

    before(async () => {
      bobKeys = deviceKeysFor(bob.userId, bob.deviceId);
      const upload = await post(b, bob, '/keys/upload', { device_keys: bobKeys.keys, one_time_keys: bobKeys.oneTimeKeys(3) });
      assert.equal(upload.status, 200, JSON.stringify(upload.body));
    });

    it("answers A's user's query for B's user's keys from B, and keeps them while they share a room", async () => {
      const res = await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.failures, {});
      assert.deepEqual(res.body.device_keys[bob.userId][bob.deviceId], { ...bobKeys.keys, unsigned: {} });
      const cached = await a.hs.services.stores.remoteDevices.list(bob.userId);
      assert.equal(cached?.stale, false);
      assert.equal(cached?.snapshotStreamId, await bLatest());
      assert.deepEqual((await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [bob.deviceId, 'NOSUCH'] } })).body.device_keys, res.body.device_keys);
    });

    it("asks B for the keys of a user who shares no room with A's users, without keeping them", async () => {
      const erin = await createUser(b, 'erin');
      const erinKeys = deviceKeysFor(erin.userId, erin.deviceId);
      assert.equal((await post(b, erin, '/keys/upload', { device_keys: erinKeys.keys })).status, 200);
      const res = await post(a, alice, '/keys/query', { device_keys: { [erin.userId]: [] } });
      assert.deepEqual(res.body.device_keys[erin.userId], { [erin.deviceId]: { ...erinKeys.keys, unsigned: {} } });
      assert.equal(await a.hs.services.stores.remoteDevices.list(erin.userId), undefined);
    });

    it("claims B's user's one-time keys from B, each once", async () => {
      const claim = () => post(a, alice, '/keys/claim', { one_time_keys: { [bob.userId]: { [bob.deviceId]: 'signed_curve25519' } } });
      const [first, second] = [await claim(), await claim()];
      assert.deepEqual(first.body.failures, {});
      const keyOf = (res: any) => Object.entries(res.body.one_time_keys[bob.userId][bob.deviceId])[0];
      assert.match(keyOf(first)[0], /^signed_curve25519:K\d$/);
      assert.notEqual(keyOf(first)[0], keyOf(second)[0]);
      const counts = await b.hs.services.stores.oneTimeKeys.counts(bob.userId, bob.deviceId);
      assert.equal(counts.signed_curve25519, 1);
    });

    it('reports a server that does not answer in time, or at all, in failures', async () => {
      const silent = net.createServer(() => {});
      const port = await freePort();
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
      const closed = `127.0.0.1:${await freePort()}`;
      try {
        const started = Date.now();
        const res = await post(a, alice, '/keys/query', { timeout: 500, device_keys: { [`@x:127.0.0.1:${port}`]: [], [`@y:${closed}`]: [], [bob.userId]: [] } });
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
        assert.deepEqual(Object.keys(res.body.failures).sort(), [`127.0.0.1:${port}`, closed].sort());
        assert.equal(res.body.failures[closed].status, 503);
        assert.ok(res.body.device_keys[bob.userId][bob.deviceId]);
        const claim = await post(a, alice, '/keys/claim', { timeout: 500, one_time_keys: { [`@x:127.0.0.1:${port}`]: { D: 'signed_curve25519' } } });
        assert.deepEqual(Object.keys(claim.body.failures), [`127.0.0.1:${port}`]);
      } finally {
        silent.close();
      }
    });

    it("shows a new device of B's user in A's user's /sync device_lists.changed and /keys/changes, from the update alone", async () => {
      await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } });
      const before = (await a.hs.services.stores.remoteDevices.list(bob.userId))!;
      const { next_batch: since } = await sync(a, alice);
      const laptop = await b.hs.services.accounts.startSession(bob.userId, { displayName: 'laptop' });
      const laptopKeys = deviceKeysFor(bob.userId, laptop.device_id);
      assert.equal((await b.request('POST', `${V3}/keys/upload`, { token: laptop.access_token, body: { device_keys: laptopKeys.keys } })).status, 200);
      const streamId = await bLatest();
      await sendFromB([
        {
          edu_type: 'm.device_list_update',
          content: { user_id: bob.userId, device_id: laptop.device_id, device_display_name: 'laptop', stream_id: streamId, prev_id: [before.snapshotStreamId], keys: laptopKeys.keys },
        },
      ]);
      const body = await sync(a, alice, { since, timeout: 5000 });
      assert.deepEqual(body.device_lists?.changed, [bob.userId]);
      const changes = await a.request('GET', `${V3}/keys/changes?from=${enc(since)}&to=${enc(body.next_batch)}`, { token: alice.accessToken });
      assert.deepEqual(changes.body.changed, [bob.userId]);
      const after = (await a.hs.services.stores.remoteDevices.list(bob.userId))!;
      assert.equal(after.snapshotStreamId, before.snapshotStreamId, 'the list was fetched again');
      assert.deepEqual(after.seen, [streamId]);
      const query = await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [laptop.device_id] } });
      assert.deepEqual(query.body.device_keys[bob.userId], { [laptop.device_id]: { ...laptopKeys.keys, unsigned: { device_display_name: 'laptop' } } });

      // The same update again changes nothing; a deletion removes the device.
      await sendFromB([{ edu_type: 'm.device_list_update', content: { user_id: bob.userId, device_id: laptop.device_id, stream_id: streamId, prev_id: [before.snapshotStreamId], deleted: true } }]);
      assert.ok((await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } })).body.device_keys[bob.userId][laptop.device_id]);
      await sendFromB([{ edu_type: 'm.device_list_update', content: { user_id: bob.userId, device_id: laptop.device_id, stream_id: streamId + 1, prev_id: [streamId], deleted: true } }]);
      assert.equal((await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } })).body.device_keys[bob.userId][laptop.device_id], undefined);
    });

    it('fetches the whole list again when an update follows one A never got', async () => {
      await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } });
      const { next_batch: since } = await sync(a, alice);
      const tablet = await b.hs.services.accounts.startSession(bob.userId, { displayName: 'tablet' });
      const tabletKeys = deviceKeysFor(bob.userId, tablet.device_id);
      assert.equal((await b.request('POST', `${V3}/keys/upload`, { token: tablet.access_token, body: { device_keys: tabletKeys.keys } })).status, 200);
      const latest = await bLatest();
      // An update that names a previous one A never received, about a device B does not have.
      await sendFromB([{ edu_type: 'm.device_list_update', content: { user_id: bob.userId, device_id: 'GHOST', stream_id: latest + 100, prev_id: [latest + 99] } }]);
      const resynced = await until(async () => {
        const list = await a.hs.services.stores.remoteDevices.list(bob.userId);
        return list && !list.stale && list.snapshotStreamId === latest ? list : undefined;
      }, 'the resync');
      assert.deepEqual(resynced.seen, []);
      const devices = (await a.hs.services.stores.remoteDevices.devices([bob.userId])).map((d) => d.deviceId).sort();
      const listed = await a.hs.federation.client.get<any>(b.name, `/_matrix/federation/v1/user/devices/${enc(bob.userId)}`);
      const onB = listed.devices.map((d: any) => d.device_id).sort();
      assert.ok(onB.includes(tablet.device_id));
      assert.deepEqual(devices, onB);
      assert.ok(!devices.includes('GHOST'));
      const body = await sync(a, alice, { since, timeout: 5000 });
      assert.deepEqual(body.device_lists?.changed, [bob.userId]);
    });

    it("takes B's user's new cross-signing keys from m.signing_key_update, only the user's own", async () => {
      await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } });
      const master = crossSigningKey(bob.userId, 'master');
      const selfSigning = crossSigningKey(bob.userId, 'self_signing', master);
      const notBobs = crossSigningKey(carol.userId, 'master');
      await sendFromB([{ edu_type: 'm.signing_key_update', content: { user_id: bob.userId, master_key: master.key, self_signing_key: selfSigning.key } }]);
      await sendFromB([{ edu_type: 'm.signing_key_update', content: { user_id: bob.userId, master_key: notBobs.key } }]);
      const res = await post(a, alice, '/keys/query', { device_keys: { [bob.userId]: [] } });
      assert.deepEqual(res.body.master_keys[bob.userId], master.key);
      assert.deepEqual(res.body.self_signing_keys[bob.userId], selfSigning.key);
    });

    it('forgets the cached list of a user who no longer shares a room with ours', async () => {
      const frank = await createUser(b, 'frank');
      assert.equal((await post(b, frank, '/keys/upload', { device_keys: deviceKeysFor(frank.userId, frank.deviceId).keys })).status, 200);
      const room = await roomWith(frank.userId);
      assert.ok((await post(a, alice, '/keys/query', { device_keys: { [frank.userId]: [] } })).body.device_keys[frank.userId][frank.deviceId]);
      assert.ok(await a.hs.services.stores.remoteDevices.list(frank.userId));
      const leave = await onA(room, { type: 'm.room.member', sender: frank.userId, stateKey: frank.userId, content: { membership: 'leave' } });
      const answer = await b.hs.federation.client.put<any>(a.name, `${SEND}/l${++txn}`, { origin: b.name, origin_server_ts: Date.now(), pdus: [leave.pdu], edus: [] });
      assert.deepEqual(answer, { pdus: { [leave.id]: {} } });
      await until(async () => ((await a.hs.services.stores.remoteDevices.list(frank.userId)) === undefined ? true : undefined), 'the cache to go');
    });

    it('ignores updates about users of another server and about users who share no room with ours', async () => {
      const stranger = `@stranger:${b.name}`;
      await sendFromB([
        { edu_type: 'm.device_list_update', content: { user_id: alice.userId, device_id: 'X', stream_id: 1 } },
        { edu_type: 'm.device_list_update', content: { user_id: stranger, device_id: 'X', stream_id: 1 } },
        { edu_type: 'm.signing_key_update', content: { user_id: stranger } },
      ]);
      assert.equal(await a.hs.services.stores.remoteDevices.list(stranger), undefined);
      assert.equal(await a.hs.services.stores.deviceListChanges.latestPublic(stranger), 0);
      assert.deepEqual((await a.hs.services.stores.devices.list(alice.userId)).map((d) => d.deviceId).includes('X'), false);
    });
  });

  describe("A's users' device lists, sent to B", () => {
    it('sends an update per device change, each naming the one before, with the keys and display name', async () => {
      const phone = await a.hs.services.accounts.startSession(alice.userId, { displayName: 'phone' });
      const created = await until(() => caughtOf('m.device_list_update').find((e) => e.content.device_id === phone.device_id), 'the new device');
      assert.equal(created.origin, a.name);
      assert.equal(created.content.user_id, alice.userId);
      assert.equal(created.content.device_display_name, 'phone');
      const phoneKeys = deviceKeysFor(alice.userId, phone.device_id);
      assert.equal((await a.request('POST', `${V3}/keys/upload`, { token: phone.access_token, body: { device_keys: phoneKeys.keys } })).status, 200);
      const keyed = await until(() => caughtOf('m.device_list_update').find((e) => e.content.device_id === phone.device_id && e.content.keys), 'the keys');
      assert.deepEqual(keyed.content.keys, phoneKeys.keys);
      assert.deepEqual(keyed.content.prev_id, [created.content.stream_id]);
      assert.ok(keyed.content.stream_id > created.content.stream_id);
      const devices = await b.hs.federation.client.get<any>(a.name, `/_matrix/federation/v1/user/devices/${enc(alice.userId)}`);
      assert.equal(devices.stream_id, keyed.content.stream_id);

      assert.equal((await a.request('POST', `${V3}/logout`, { token: phone.access_token, body: {} })).status, 200);
      const deleted = await until(() => caughtOf('m.device_list_update').find((e) => e.content.device_id === phone.device_id && e.content.deleted), 'the deletion');
      assert.deepEqual(deleted.content.prev_id, [keyed.content.stream_id]);
    });

    it("sends A's user's new cross-signing keys as m.signing_key_update", async () => {
      const master = crossSigningKey(alice.userId, 'master');
      const selfSigning = crossSigningKey(alice.userId, 'self_signing', master);
      const res = await post(a, alice, '/keys/device_signing/upload', { master_key: master.key, self_signing_key: selfSigning.key });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const edu = await until(() => caughtOf('m.signing_key_update').find((e) => e.content.user_id === alice.userId), 'm.signing_key_update');
      assert.deepEqual(edu.content, { user_id: alice.userId, master_key: master.key, self_signing_key: selfSigning.key });
    });
  });
});

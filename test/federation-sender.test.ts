/**
 * The outbound federation sender (federation/sender/) over a real homeserver:
 * the room engine makes the events, a fake transport plays the other servers.
 *
 * Remote members: without inbound federation, a remote user's join is built,
 * signed by the remote server's key, authorised against the room's current
 * state, persisted and published exactly as the engine does for its own events
 * (persistRemoteJoin in test/helpers/federation.ts). The sender then sees a room whose current state
 * holds remote joins, as it will once inbound federation exists; and since the
 * join is published on the event bus too, the tests also show that events from
 * other servers are not sent on.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Config } from '../server/config/schema';
import { createFederationSender, MAX_EDUS, MAX_PDUS, type RunningFederationSender } from '../federation/sender';
import { joinedServersAt } from '../federation/sender/fan-out';
import type { Transaction, TransactionResult, TransactionTransport } from '../federation/sender/transport';
import { computeEventId } from '../spec/event-hashes';
import type { Pdu } from '../spec/pdu';
import { roomVersion, type RoomVersion } from '../spec/room-versions';
import { parseSigningKey } from '../spec/signing-key';
import { signingKeyPair, verifyEventSignature } from '../spec/signing';
import type { RemoteMemberships } from '../server/rooms/remote-memberships';
import { persistRemoteJoin } from './helpers/federation';
import { createRoom, enc, roomPath, send } from './helpers/rooms';
import { createUser, freshDatabase, startServer, type DeepPartial, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const REMOTE_A = 'remote-a.test';
const REMOTE_B = 'remote-b.test';
const REMOTE_C = 'remote-c.test';

interface Attempt {
  destination: string;
  txnId: string;
  body: Transaction;
  at: number;
  signal: AbortSignal;
}

/** Plays every remote server: records each attempt; a destination can be made to fail, hang or answer slowly. */
class FakeTransport implements TransactionTransport {
  readonly attempts: Attempt[] = [];
  readonly failing = new Set<string>();
  readonly hanging = new Set<string>();
  /** Per-PDU errors to answer with, by the message's body. */
  readonly refuse = new Map<unknown, string>();
  latencyMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly accepted = new Set<Attempt>();

  async sendTransaction(destination: string, txnId: string, body: Transaction, { signal }: { signal: AbortSignal }): Promise<TransactionResult> {
    const attempt = { destination, txnId, body: structuredClone(body), at: Date.now(), signal };
    this.attempts.push(attempt);
    if (this.hanging.has(destination)) return new Promise(() => {});
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    this.inFlight--;
    if (this.failing.has(destination)) throw new Error('connection refused');
    this.accepted.add(attempt);
    const outcome = (pdu: Pdu) => (this.refuse.has(pdu.content.body) ? { error: this.refuse.get(pdu.content.body) } : {});
    return { pdus: Object.fromEntries(body.pdus.map((pdu) => [eventIdOf(pdu), outcome(pdu)])) };
  }

  /** The transactions `destination` accepted, in order. */
  delivered(destination: string): Attempt[] {
    return this.attempts.filter((a) => a.destination === destination && this.accepted.has(a));
  }

  triedAt(destination: string): Attempt[] {
    return this.attempts.filter((a) => a.destination === destination);
  }

  /** The PDUs `destination` accepted, in order. */
  pdus(destination: string): Pdu[] {
    return this.delivered(destination).flatMap((a) => a.body.pdus);
  }

  bodies(destination: string): unknown[] {
    return this.pdus(destination).map((p) => p.content.body);
  }
}

/** Room version of the test rooms (the default), to compute event IDs from the PDUs sent. */
let version: RoomVersion;
const eventIdOf = (pdu: Pdu): string => computeEventId(pdu, version);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(5);
  }
}

interface Logged {
  level: number;
  msg: string;
  [key: string]: unknown;
}

describe('federation sender', function () {
  this.timeout(30_000);
  let server: TestServer;
  let alice: TestUser;
  let transport: FakeTransport;
  let logs: Logged[];
  const running: RunningFederationSender[] = [];

  const federationConfig = (over: Partial<Config['federation']>): Config => ({ ...server.config, federation: { ...server.config.federation, ...over } });

  function startSender(over: Partial<Config['federation']> = {}, options: { transport?: TransactionTransport; maxConcurrentTransactions?: number } = {}): RunningFederationSender {
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logs.push(JSON.parse(chunk.toString())), done()) }));
    const started = createFederationSender({
      config: federationConfig({ retry_initial_ms: 50, retry_max_ms: Math.max(2000, over.retry_initial_ms ?? 0), ...over }),
      stores: server.hs.services.stores,
      events: server.hs.services.events,
      log,
      transport: options.transport ?? transport,
      maxConcurrentTransactions: options.maxConcurrentTransactions,
    });
    running.push(started);
    return started;
  }

  async function stopSenders(): Promise<void> {
    for (const s of running.splice(0)) await s.stop();
  }

  async function start(overrides: DeepPartial<Config> = {}, database = freshDatabase(), restart = false): Promise<void> {
    // The server's own sender is off: the tests run theirs, with a fake transport, over its database.
    server = await startServer({ ...overrides, federation: { send_outbound: false, ...overrides.federation } }, database);
    version = roomVersion(server.config.default_room_version)!;
    if (!restart) alice = await createUser(server, 'alice');
  }

  /** A public room of alice's with the given remote users joined; the sender has queued all before their joins. */
  async function roomWithRemotes(sender: RunningFederationSender, remoteUsers: string[]): Promise<string> {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await sender.sender.caughtUp();
    for (const userId of remoteUsers) await persistRemoteJoin(server, roomId, userId);
    return roomId;
  }

  beforeEach(() => {
    transport = new FakeTransport();
    logs = [];
  });

  afterEach(async () => {
    await stopSenders();
    await server?.stop();
  });

  it('sends each local event, in order, once to every other server with a joined member, as the signed PDU', async () => {
    await start();
    const sender = startSender();
    await sender.ready;
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`, `@carol:${REMOTE_B}`, `@dave:${REMOTE_B}`]);
    const localOnly = await createRoom(server, alice, { preset: 'public_chat' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await send(server, alice, roomId, { msgtype: 'm.text', body: `m${i}` }));
      await send(server, alice, localOnly, { msgtype: 'm.text', body: `local ${i}` });
    }
    await until('both servers have the five messages', () => transport.pdus(REMOTE_A).length >= 5 && transport.pdus(REMOTE_B).length >= 5);
    await sender.sender.caughtUp();
    await sleep(100);

    const publicKey = signingKeyPair(parseSigningKey(server.config.signing_key));
    for (const destination of [REMOTE_A, REMOTE_B]) {
      const pdus = transport.pdus(destination);
      // Only the messages: not the room's creation (no remote member then), not the remote joins, not the local-only room.
      assert.deepEqual(pdus.map(eventIdOf), ids, destination);
      for (const pdu of pdus) {
        assert.equal(pdu.unsigned, undefined);
        assert.equal(pdu.room_id, roomId);
        assert.ok(verifyEventSignature(pdu, version, server.config.server_name, publicKey.keyId, publicKey.publicKeyBase64));
      }
      for (const attempt of transport.delivered(destination)) {
        assert.equal(attempt.body.origin, server.config.server_name);
        assert.equal(typeof attempt.body.origin_server_ts, 'number');
        assert.deepEqual(attempt.body.edus, []);
      }
      const txnIds = transport.triedAt(destination).map((a) => a.txnId);
      assert.equal(new Set(txnIds).size, txnIds.length, 'a new transaction ID per transaction');
    }
    // Nothing else was attempted anywhere, and the queues are empty.
    assert.deepEqual(new Set(transport.attempts.map((a) => a.destination)), new Set([REMOTE_A, REMOTE_B]));
    assert.deepEqual(await server.hs.services.stores.federationOutbox.queued(REMOTE_A), { pdus: 0, edus: 0 });
    assert.ok((await server.hs.services.stores.federationOutbox.lastSuccess(REMOTE_A))! > 0);
    assert.deepEqual((await sender.sender.serversInRoom(roomId)).sort(), [REMOTE_A, REMOTE_B]);
    assert.deepEqual(await sender.sender.serversInRoom(localOnly), []);
  });

  for (const lagging of [false, true]) {
    it(`sends a membership event to its target's server too, and each event where members were joined at it${lagging ? ', when the fan-out runs behind' : ''}`, async () => {
      await start();
      let sender = startSender();
      const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`, `@carol:${REMOTE_B}`]);
      // Behind: the events are all committed before the sender looks, so the current state already holds the kick.
      if (lagging) await stopSenders();
      // The invitee's server countersigns a remote invite (PUT /invite); here it is played by one that signs nothing.
      const countersign: Pick<RemoteMemberships, 'invite'> = { invite: async ({ event }) => event.pdu };
      server.hs.services.rooms.setRemote(countersign as RemoteMemberships);
      const invite = await server.request('POST', roomPath(roomId, '/invite'), { token: alice.accessToken, body: { user_id: `@erin:${REMOTE_C}` } });
      assert.equal(invite.status, 200, JSON.stringify(invite.body));
      const before = await send(server, alice, roomId, { msgtype: 'm.text', body: 'before the kick' });
      const kick = await server.request('POST', roomPath(roomId, '/kick'), { token: alice.accessToken, body: { user_id: `@bob:${REMOTE_A}` } });
      assert.equal(kick.status, 200, JSON.stringify(kick.body));
      const after = await send(server, alice, roomId, { msgtype: 'm.text', body: 'after the kick' });
      if (lagging) sender = startSender();
      await until('remote-b has all four', () => transport.pdus(REMOTE_B).length >= 4);
      await sender.sender.caughtUp();
      await sleep(100);

      const summary = (destination: string) => transport.pdus(destination).map((p) => [p.type, p.state_key, p.content.membership ?? p.content.body]);
      // The invitee's server has no joined member: it gets the invite (and nothing after).
      assert.deepEqual(summary(REMOTE_C), [['m.room.member', `@erin:${REMOTE_C}`, 'invite']]);
      // The kicked user's server gets what came while bob was joined, and the kick, but not what follows.
      assert.deepEqual(summary(REMOTE_A), [
        ['m.room.member', `@erin:${REMOTE_C}`, 'invite'],
        ['m.room.message', undefined, 'before the kick'],
        ['m.room.member', `@bob:${REMOTE_A}`, 'leave'],
      ]);
      assert.deepEqual(transport.pdus(REMOTE_B).map(eventIdOf).slice(1), [before, transport.pdus(REMOTE_A).map(eventIdOf)[2], after]);
      assert.equal(transport.pdus(REMOTE_B).length, 4);
    });
  }

  it('finds the servers joined at an event by undoing the membership changes since', () => {
    const change = (userId: string, prevMembership: string | null, membership: string) => ({ roomId: '!r', userId, streamOrdering: 0, membership, prevMembership });
    const current = new Map([
      ['a.test', 2],
      ['b.test', 1],
    ]);
    assert.deepEqual(joinedServersAt(current, []), new Set(['a.test', 'b.test']));
    // b's only user joined since: b was not in the room at the event.
    assert.deepEqual(joinedServersAt(current, [change('@b:b.test', 'invite', 'join')]), new Set(['a.test']));
    // c's user left, rejoined and left again since: joined at the event.
    const leftAgain = [change('@c:c.test', 'join', 'leave'), change('@c:c.test', 'leave', 'join'), change('@c:c.test', 'join', 'leave')];
    assert.deepEqual(joinedServersAt(current, leftAgain), new Set(['a.test', 'b.test', 'c.test']));
    // Both of a's users joined since (one after an earlier leave): a was not in the room.
    assert.deepEqual(joinedServersAt(current, [change('@x:a.test', null, 'join'), change('@y:a.test', 'leave', 'join')]), new Set(['b.test']));
    assert.deepEqual(joinedServersAt(undefined, [change('@d:d.test', 'join', 'ban')]), new Set(['d.test']));
  });

  it(`puts at most ${MAX_PDUS} PDUs and ${MAX_EDUS} EDUs in a transaction, keeping their order, and resends a failed one unchanged`, async () => {
    await start();
    const sender = startSender({ retry_initial_ms: 60_000 });
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`]);
    transport.failing.add(REMOTE_A);
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) ids.push(await send(server, alice, roomId, { msgtype: 'm.text', body: `m${i}` }));
    const edus = Array.from({ length: 230 }, (_, i) => ({ edu_type: 'org.example.test', content: { n: i } }));
    for (const edu of edus) await sender.sender.sendEdu([REMOTE_A], edu);
    await sender.sender.caughtUp();
    assert.deepEqual(await server.hs.services.stores.federationOutbox.queued(REMOTE_A), { pdus: 120, edus: 230 });
    assert.equal(transport.triedAt(REMOTE_A).length, 1, 'one attempt, then a long backoff');
    const failed = transport.triedAt(REMOTE_A)[0];

    transport.failing.delete(REMOTE_A);
    sender.sender.wake(REMOTE_A);
    await until('everything is delivered', () => transport.pdus(REMOTE_A).length >= 120 && transport.delivered(REMOTE_A).flatMap((a) => a.body.edus).length >= 230);

    const delivered = transport.delivered(REMOTE_A);
    // The failed transaction is retried first, with the same ID and body.
    assert.equal(delivered[0].txnId, failed.txnId);
    assert.deepEqual(delivered[0].body, failed.body);
    for (const attempt of delivered) {
      assert.ok(attempt.body.pdus.length <= MAX_PDUS, `${attempt.body.pdus.length} PDUs`);
      assert.ok(attempt.body.edus.length <= MAX_EDUS, `${attempt.body.edus.length} EDUs`);
    }
    assert.ok(delivered.some((a) => a.body.pdus.length === MAX_PDUS), 'full transactions are filled');
    assert.ok(delivered.some((a) => a.body.edus.length === MAX_EDUS));
    assert.deepEqual(transport.pdus(REMOTE_A).map(eventIdOf), ids);
    assert.deepEqual(
      delivered.flatMap((a) => a.body.edus),
      edus,
    );
    assert.equal(new Set(delivered.map((a) => a.txnId)).size, delivered.length);
    assert.equal(sender.sender.retryAt(REMOTE_A), undefined);
    assert.deepEqual(await server.hs.services.stores.federationOutbox.backoffs(), new Map());
  });

  it('backs a failing destination off exponentially while the others keep receiving', async () => {
    await start();
    const sender = startSender({ retry_initial_ms: 40, retry_max_ms: 10_000, request_timeout_ms: 100 });
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`, `@carol:${REMOTE_B}`, `@erin:${REMOTE_C}`]);
    transport.failing.add(REMOTE_A);
    // A server that accepts the connection and never answers is a failure too, after the request timeout.
    transport.hanging.add(REMOTE_C);
    let sent = 0;
    const started = Date.now();
    while (transport.triedAt(REMOTE_A).length < 6) {
      await send(server, alice, roomId, { msgtype: 'm.text', body: `m${sent++}` });
      await until(`remote-b has message ${sent}`, () => transport.pdus(REMOTE_B).length === sent, 2000);
      await sleep(20);
    }
    const tries = transport.triedAt(REMOTE_A).map((a) => a.at);
    const gaps = tries.slice(1).map((t, i) => t - tries[i]);
    // Waits of 40, 80, 160, 320, 640 ms (timers may fire late, never early).
    gaps.forEach((gap, i) => assert.ok(gap >= 40 * 2 ** i - 5, `gap ${i} was ${gap} ms: ${gaps}`));
    assert.ok(gaps[4] > 2 * gaps[1], `gaps grow: ${gaps}`);
    // Meanwhile remote-b got every message, each within its own round trip.
    assert.equal(transport.pdus(REMOTE_B).length, sent);
    assert.ok(Date.now() - started < 10_000);

    let backoffs = await server.hs.services.stores.federationOutbox.backoffs();
    await until('the sixth failure is recorded', async () => (backoffs = await server.hs.services.stores.federationOutbox.backoffs()).get(REMOTE_A)?.failures === 6);
    assert.ok(backoffs.get(REMOTE_A)!.retryAt > Date.now() + 500);
    assert.ok(backoffs.get(REMOTE_C)!.failures >= 3, 'the hanging server timed out repeatedly');
    assert.ok(transport.triedAt(REMOTE_C).every((a) => a.signal.aborted), 'timed-out attempts were aborted');
    assert.equal(transport.pdus(REMOTE_A).length, 0);
    const failure = logs.find((l) => l.destination === REMOTE_A && l.failures === 1);
    assert.equal(failure?.reason, 'connection refused');
  });

  it('retries at once when the destination wakes, and only then', async () => {
    await start();
    const sender = startSender({ retry_initial_ms: 60_000 });
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`]);
    transport.failing.add(REMOTE_A);
    const id = await send(server, alice, roomId, { msgtype: 'm.text', body: 'hello' });
    await until('the first attempt failed', () => sender.sender.retryAt(REMOTE_A) !== undefined);
    transport.failing.delete(REMOTE_A);
    // Waking a destination that is not backing off changes nothing.
    sender.sender.wake(REMOTE_B);
    await sleep(150);
    assert.equal(transport.triedAt(REMOTE_A).length, 1, 'no retry before the backoff ends');

    const woken = Date.now();
    sender.sender.wake(REMOTE_A);
    await until('delivered after the wake', () => transport.pdus(REMOTE_A).length === 1);
    assert.ok(Date.now() - woken < 1000);
    assert.deepEqual(transport.pdus(REMOTE_A).map(eventIdOf), [id]);
    await until('the backoff is cleared in the database', async () => (await server.hs.services.stores.federationOutbox.backoffs()).size === 0);
  });

  it('keeps its queues, its backoffs and the unsent stream across a restart of the homeserver', async () => {
    const database = freshDatabase();
    await start({}, database);
    let sender = startSender({ retry_initial_ms: 600 });
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`, `@carol:${REMOTE_B}`]);
    transport.failing.add(REMOTE_A);
    const ids = [await send(server, alice, roomId, { msgtype: 'm.text', body: 'm0' })];
    await until('remote-a failed once', () => transport.triedAt(REMOTE_A).length === 1);
    const failed = transport.triedAt(REMOTE_A)[0];
    ids.push(await send(server, alice, roomId, { msgtype: 'm.text', body: 'm1' }));
    await until('remote-b has both', () => transport.pdus(REMOTE_B).length === 2);
    await stopSenders();
    // Events committed while no sender runs: they are queued from the stream on the next start.
    ids.push(await send(server, alice, roomId, { msgtype: 'm.text', body: 'm2' }));
    const retryAt = (await server.hs.services.stores.federationOutbox.backoffs()).get(REMOTE_A)!.retryAt;
    await server.stop({ drop: false });

    await start({}, database, true);
    const healthy = new FakeTransport();
    transport = healthy;
    sender = startSender({ retry_initial_ms: 600 }, { transport: healthy });
    await until('remote-b has the message sent while stopped', () => healthy.pdus(REMOTE_B).length === 1);
    assert.deepEqual(healthy.pdus(REMOTE_B).map(eventIdOf), [ids[2]]);
    await until('remote-a has everything', () => healthy.pdus(REMOTE_A).length === 3);
    const first = healthy.triedAt(REMOTE_A)[0];
    // The new instance waited out the persisted backoff, then resent the failed transaction as it was.
    assert.ok(first.at >= retryAt - 5, `retried ${retryAt - first.at} ms early`);
    assert.equal(first.txnId, failed.txnId);
    assert.deepEqual(first.body, failed.body);
    assert.deepEqual(healthy.pdus(REMOTE_A).map(eventIdOf), ids);
  });

  it('replaces an unsent EDU with a newer one of the same coalescing key, but resends one already attempted as it was', async () => {
    await start();
    const sender = startSender({ retry_initial_ms: 60_000 });
    await sender.ready;
    const typing = (n: number) => ({ edu_type: 'm.typing', content: { room_id: '!r:localhost', user_id: '@alice:localhost', typing: n % 2 === 0, n } });
    const key = 'm.typing !r:localhost @alice:localhost';
    transport.failing.add(REMOTE_A);
    await sender.sender.sendEdu([REMOTE_A, REMOTE_B, REMOTE_B, server.config.server_name], typing(1), key);
    await until('both attempted', () => transport.triedAt(REMOTE_A).length === 1 && transport.delivered(REMOTE_B).length === 1);
    for (let n = 2; n <= 4; n++) await sender.sender.sendEdu([REMOTE_A], typing(n), key);
    await sender.sender.sendEdu([REMOTE_A], { edu_type: 'm.receipt', content: { n: 'receipt' } });
    await sender.sender.sendEdu([REMOTE_A], typing(5), key);
    // Another key, and no key, are left alone.
    await sender.sender.sendEdu([REMOTE_A], { edu_type: 'm.typing', content: { other: true } }, 'another key');
    assert.deepEqual(await server.hs.services.stores.federationOutbox.queued(REMOTE_A), { pdus: 0, edus: 4 });

    transport.failing.delete(REMOTE_A);
    sender.sender.wake(REMOTE_A);
    await until('delivered', () => transport.delivered(REMOTE_A).length === 2);
    const [retried, next] = transport.delivered(REMOTE_A);
    assert.deepEqual(retried.body.edus, [typing(1)]);
    assert.deepEqual(next.body.edus, [{ edu_type: 'm.receipt', content: { n: 'receipt' } }, typing(5), { edu_type: 'm.typing', content: { other: true } }]);
    // Our own server and duplicate destinations were left out.
    assert.deepEqual(transport.attempts.map((a) => a.destination).sort(), [REMOTE_A, REMOTE_A, REMOTE_A, REMOTE_B]);
  });

  it('bounds the transactions in flight across destinations, and a hanging one holds a single slot', async () => {
    await start();
    const sender = startSender({ request_timeout_ms: 60_000 }, { maxConcurrentTransactions: 3 });
    await sender.ready;
    transport.latencyMs = 60;
    transport.hanging.add('remote-0.test');
    const destinations = Array.from({ length: 8 }, (_, i) => `remote-${i}.test`);
    // The hanging server takes its slot first, then the others come.
    await sender.sender.sendEdu(['remote-0.test'], { edu_type: 'org.example.test', content: { n: 0 } });
    await until('the hanging transaction is in flight', () => transport.triedAt('remote-0.test').length === 1);
    for (let n = 0; n < 3; n++) await sender.sender.sendEdu(destinations.slice(1), { edu_type: 'org.example.test', content: { n } });
    await until('every live destination has its EDUs', () => destinations.slice(1).every((d) => transport.delivered(d).flatMap((a) => a.body.edus).length === 3));
    // Two slots left for seven servers at 60 ms a transaction: never more than two at once.
    assert.ok(transport.maxInFlight >= 1 && transport.maxInFlight <= 2, `${transport.maxInFlight} in flight`);
    assert.equal(transport.triedAt('remote-0.test').length, 1);
  });

  it('logs a PDU the receiver refused and does not send it again', async () => {
    await start();
    const sender = startSender();
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`]);
    transport.refuse.set('refused', 'You are not allowed to send a message to this room.');
    const refused = await send(server, alice, roomId, { msgtype: 'm.text', body: 'refused' });
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'next' });
    await until('both delivered', () => transport.pdus(REMOTE_A).length === 2);
    await sleep(150);
    assert.deepEqual(transport.bodies(REMOTE_A), ['refused', 'next']);
    const warning = logs.find((l) => l.event_id === refused);
    assert.equal(warning?.error, 'You are not allowed to send a message to this room.');
    assert.equal(warning?.destination, REMOTE_A);
  });

  it('answers the client without waiting for delivery, and stops while a transaction hangs', async () => {
    await start();
    const sender = startSender({ request_timeout_ms: 60_000 });
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`]);
    transport.hanging.add(REMOTE_A);
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'first' });
    await until('the first transaction is in flight', () => transport.triedAt(REMOTE_A).length === 1);

    const started = Date.now();
    const res = await server.request('PUT', `${V3}/rooms/${enc(roomId)}/send/m.room.message/hanging-1`, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'second' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(Date.now() - started < 1000, 'the request did not wait for the remote server');
    await sender.sender.caughtUp();
    assert.deepEqual(await server.hs.services.stores.federationOutbox.queued(REMOTE_A), { pdus: 2, edus: 0 });

    const stopping = Date.now();
    await stopSenders();
    assert.ok(Date.now() - stopping < 1000, 'stop did not wait for the hanging transaction');
    assert.ok(transport.triedAt(REMOTE_A)[0].signal.aborted);
    // Abandoned, not failed: no backoff recorded, and everything stays queued.
    assert.deepEqual(await server.hs.services.stores.federationOutbox.backoffs(), new Map());
    assert.deepEqual(await server.hs.services.stores.federationOutbox.queued(REMOTE_A), { pdus: 2, edus: 0 });
  });

  it('sends nothing for events from other servers, nor with no other server in the room', async () => {
    await start();
    const sender = startSender();
    const roomId = await roomWithRemotes(sender, [`@bob:${REMOTE_A}`]);
    // A second remote join (published on the bus like a local event) is not sent on to remote-a.
    await persistRemoteJoin(server, roomId, `@carol:${REMOTE_B}`);
    await sender.sender.caughtUp();
    await sleep(100);
    assert.equal(transport.attempts.length, 0);
    await sender.sender.sendEdu([], { edu_type: 'm.typing', content: {} });
    await sender.sender.sendEdu([server.config.server_name, 'not a server name!'], { edu_type: 'm.typing', content: {} });
    await sleep(50);
    assert.equal(transport.attempts.length, 0);
    assert.deepEqual(await server.hs.services.stores.federationOutbox.pendingDestinations(), []);
  });
});

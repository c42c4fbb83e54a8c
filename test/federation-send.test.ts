/**
 * PUT /_matrix/federation/v1/send/{txnId} between two real Weft servers on
 * loopback: B signs the request and the PDUs with its own key, A fetches that
 * key from B's TLS listener, runs the checks on receipt and shows accepted
 * events to its clients.
 */
import assert from 'node:assert/strict';
import type { RoomEvent } from '../spec/pdu';
import { signingKeyPair, type SigningKeyPair } from '../spec/signing';
import { parseSigningKey } from '../spec/signing-key';
import { generateSigningKey } from '../server/config/signing-key';
import type { EventDraft } from '../server/rooms/event-builder';
import { FederationError } from '../federation/client';
import { buildOnResident, startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, roomPath } from './helpers/rooms';
import { createUser, type TestUser } from './helpers/server';
import { sync, timelineOf } from './helpers/sync';

const SEND = '/_matrix/federation/v1/send';

describe('federation: PUT /send between two servers', function () {
  this.timeout(30_000);
  let a: FederatedServer;
  let b: FederatedServer;
  let alice: TestUser;
  let bKey: SigningKeyPair;
  let bob: string;
  let txn = 0;

  before(async () => {
    [a, b] = await startFederation(2);
    alice = await createUser(a, 'alice');
    bKey = signingKeyPair(parseSigningKey(b.config.signing_key));
    bob = `@bob:${b.name}`;
  });
  after(() => stopAll([a, b]));

  /** An event by B's user built on A's view of the room, as B would build it after make_join. */
  const onA = async (roomId: string, draft: EventDraft, key = bKey): Promise<RoomEvent> => (await buildOnResident(a, roomId, b, [draft], key))[0];

  const transaction = (pdus: unknown[], edus: unknown[] = []) => ({ origin: b.name, origin_server_ts: Date.now(), pdus, edus });
  const sendFromB = (body: unknown, txnId = `t${++txn}`) => b.hs.federation.client.put<any>(a.name, `${SEND}/${txnId}`, body);

  async function roomWithBob(): Promise<string> {
    const roomId = await createRoom(a, alice, { preset: 'public_chat' });
    const join = await onA(roomId, { type: 'm.room.member', sender: bob, stateKey: bob, content: { membership: 'join' } });
    assert.deepEqual(await sendFromB(transaction([join.pdu])), { pdus: { [join.id]: {} } });
    return roomId;
  }

  it("accepts B's user's join and message: A's clients see them in /sync", async () => {
    const roomId = await createRoom(a, alice, { preset: 'public_chat' });
    const { next_batch: since } = await sync(a, alice);
    const join = await onA(roomId, { type: 'm.room.member', sender: bob, stateKey: bob, content: { membership: 'join' } });
    assert.deepEqual(await sendFromB(transaction([join.pdu])), { pdus: { [join.id]: {} } });
    const message = await onA(roomId, { type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: 'hello from B' } });
    assert.deepEqual(await sendFromB(transaction([message.pdu])), { pdus: { [message.id]: {} } });
    const events = timelineOf(await sync(a, alice, { since, timeout: 0 }), roomId);
    assert.deepEqual(events.map((e: any) => e.event_id), [join.id, message.id]);
    assert.equal(events[1].content.body, 'hello from B');
    assert.equal((await a.request('GET', roomPath(roomId, `/state/m.room.member/${encodeURIComponent(bob)}`), { token: alice.accessToken })).body.membership, 'join');
  });

  it('answers a retried transaction the same, without handling it twice', async () => {
    const roomId = await roomWithBob();
    const message = await onA(roomId, { type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: 'once' } });
    const first = await sendFromB(transaction([message.pdu]), 'retried');
    const again = await sendFromB(transaction([message.pdu]), 'retried');
    assert.deepEqual(again, first);
    const bodies = (await a.request('GET', roomPath(roomId, '/messages?dir=b&limit=5'), { token: alice.accessToken })).body.chunk.map((e: any) => e.content.body);
    assert.equal(bodies.filter((x: string) => x === 'once').length, 1);
  });

  it('reports, and never shows, a PDU with a forged signature, one that fails auth, and one for a room A is not in', async () => {
    const roomId = await roomWithBob();
    const { next_batch: since } = await sync(a, alice);
    const forged = await onA(roomId, { type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: 'forged' } }, signingKeyPair(parseSigningKey(generateSigningKey())));
    const unauthorised = await onA(roomId, { type: 'm.room.power_levels', sender: bob, stateKey: '', content: { users: { [bob]: 100 } } });
    const elsewhere = { ...forged.pdu, room_id: '!nowhere:example.org' };
    const answer = await sendFromB(transaction([forged.pdu, unauthorised.pdu, elsewhere]));
    assert.ok(answer.pdus[forged.id]?.error, JSON.stringify(answer));
    assert.ok(answer.pdus[unauthorised.id]?.error, JSON.stringify(answer));
    assert.equal(Object.keys(answer.pdus).length, 3, JSON.stringify(answer));
    assert.deepEqual(timelineOf(await sync(a, alice, { since, timeout: 0 }), roomId), []);
  });

  it("reports, stores nothing of, and never shows an event claiming A's user as sender, and an event over 64 KiB", async () => {
    const roomId = await roomWithBob();
    const { next_batch: since } = await sync(a, alice);
    // Signed by B only: the sender's server (A) never signed it.
    const impostor = await onA(roomId, { type: 'm.room.message', sender: alice.userId, content: { msgtype: 'm.text', body: 'not alice' } });
    const oversize = await onA(roomId, { type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: 'x'.repeat(65_536) } });
    const answer = await sendFromB(transaction([impostor.pdu, oversize.pdu]));
    assert.match(answer.pdus[impostor.id]?.error, /signature/, JSON.stringify(answer));
    assert.match(answer.pdus[oversize.id]?.error, /malformed|bytes|large/, JSON.stringify(answer));
    assert.equal((await a.hs.services.stores.events.get([impostor.id, oversize.id])).size, 0);
    assert.deepEqual(timelineOf(await sync(a, alice, { since, timeout: 0 }), roomId), []);
  });

  it("ignores PDUs from a server the room's ACL denies", async () => {
    const roomId = await roomWithBob();
    const acl = await a.request('PUT', roomPath(roomId, '/state/m.room.server_acl/'), {
      token: alice.accessToken,
      body: { allow: ['*'], deny: ['127.0.0.1'], allow_ip_literals: true },
    });
    assert.equal(acl.status, 200, JSON.stringify(acl.body));
    const message = await onA(roomId, { type: 'm.room.message', sender: bob, content: { msgtype: 'm.text', body: 'denied' } });
    const answer = await sendFromB(transaction([message.pdu]));
    assert.match(answer.pdus[message.id].error, /ACL/);
    assert.equal((await a.hs.services.stores.events.get([message.id])).size, 0);
  });

  it('refuses unsigned requests, a body whose origin is another server, and oversize transactions', async () => {
    await assert.rejects(b.hs.federation.client.put(a.name, `${SEND}/unsigned`, transaction([]), { signed: false }), (err: FederationError) => err.status === 401 && err.errcode === 'M_UNAUTHORIZED');
    await assert.rejects(sendFromB({ ...transaction([]), origin: 'someone.else' }), (err: FederationError) => err.status === 400);
    await assert.rejects(sendFromB(transaction(Array.from({ length: 51 }, () => ({})))), (err: FederationError) => err.status === 400);
    await assert.rejects(sendFromB({ origin: b.name, pdus: [] }), (err: FederationError) => err.status === 400 && err.errcode === 'M_MISSING_PARAM');
  });
});

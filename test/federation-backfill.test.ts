/**
 * /messages backfilling history from other servers, between real Weft
 * servers on loopback: A has a room with history; B joins late, so its copy
 * of the DAG starts at its join; B's user pages back past the join and B
 * fetches what lies behind it from A with GET /backfill, checks it, and
 * stores it as history (never news: no /sync, no push).
 */
import assert from 'node:assert/strict';
import { authEventsSelection } from '../spec/auth-events';
import { CREATE_TUPLE } from '../spec/power-levels';
import type { Pdu, RoomEvent } from '../spec/pdu';
import { roomVersion } from '../spec/room-versions';
import { addEventSignature, signingKeyPair, type SigningKeyPair } from '../spec/signing';
import { parseSigningKey } from '../spec/signing-key';
import { generateSigningKey } from '../server/config/signing-key';
import { buildEvent, type EventDraft } from '../server/rooms/event-builder';
import type { Backfiller } from '../server/rooms/backfill';
import { federationBackfiller } from '../federation/backfill';
import { startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, send } from './helpers/rooms';
import { createUser, expectError, type TestUser } from './helpers/server';
import { sync, timelineOf } from './helpers/sync';
import { bodies, getMessages, ids, messages, pageAll, setState } from './helpers/timeline';

const V1 = '/_matrix/federation/v1';

describe('federation: /messages backfills history from other servers', function () {
  this.timeout(60_000);
  let a: FederatedServer;
  let b: FederatedServer;
  let c: FederatedServer;
  let cStopped = false;
  let alice: TestUser;
  let carol: TestUser;
  let bob: TestUser;
  let txn = 0;
  /** The backfill requests B made, as [server, roomId, v, limit]. */
  let requests: [string, string, readonly string[], number][] = [];
  /** What B's backfill requests answer, before B checks it: A's answer unless a test changes it. */
  let tamper: (pdus: unknown[]) => unknown[] = (pdus) => pdus;

  before(async () => {
    // The tests push every event themselves (to leave gaps on purpose): the servers send nothing on their own.
    [a, b, c] = await startFederation(3, { federation: { send_outbound: false } });
    alice = await createUser(a, 'alice');
    carol = await createUser(c, 'carol');
    bob = await createUser(b, 'bob');
    const real = federationBackfiller(b.hs.federation.client);
    const counting: Backfiller = {
      async backfill(server, roomId, from, limit) {
        requests.push([server, roomId, from, limit]);
        const answer = await real.backfill(server, roomId, from, limit);
        return { ...answer, pdus: tamper(answer.pdus) };
      },
    };
    b.hs.services.backfill.setBackfiller(counting);
  });
  beforeEach(() => {
    requests = [];
    tamper = (pdus) => pdus;
  });
  after(() => stopAll(cStopped ? [a, b] : [a, b, c]));

  /**
   * Bob (on B) joins `resident`'s room. Until the joins API lands, B's side
   * of the join is made by hand, with what make_join/send_join would give:
   * B builds its join on the resident's view of the room and pushes it with
   * PUT /send; the resident's GET /state at the join is the send_join answer,
   * from which B's engine starts the room (acceptRoomState). B then holds the
   * join and the state as outliers, and none of the history before.
   */
  async function joinLate(resident: FederatedServer, roomId: string): Promise<RoomEvent> {
    const { stores } = resident.hs.services;
    const version = roomVersion((await stores.rooms.get(roomId))!.version)!;
    const draft: EventDraft = { type: 'm.room.member', sender: bob.userId, stateKey: bob.userId, content: { membership: 'join' } };
    const tuples = new Set(authEventsSelection({ ...draft, state_key: draft.stateKey }, version));
    tuples.add(CREATE_TUPLE);
    const parents = (await stores.events.forwardExtremities(roomId)).map((e) => ({ id: e.eventId, depth: e.depth, sha256: '' }));
    const bKey = signingKeyPair(parseSigningKey(b.config.signing_key));
    const join = buildEvent(draft, { version, roomId, serverName: b.name, signingKey: bKey, nowMs: Date.now(), state: await stores.roomState.currentStateEvents(roomId, tuples), parents });
    const sent = await b.hs.federation.client.put<any>(resident.name, `${V1}/send/join${++txn}`, { origin: b.name, origin_server_ts: Date.now(), pdus: [join.pdu], edus: [] });
    assert.deepEqual(sent, { pdus: { [join.id]: {} } });
    const state = await b.hs.federation.client.get<any>(resident.name, `${V1}/state/${encodeURIComponent(roomId)}`, { query: { event_id: join.id } });
    const outcome = await b.hs.services.remoteEvents.acceptRoomState(resident.name, { roomId, version: version.id, state: state.pdus, authChain: state.auth_chain, join: join.pdu });
    assert.equal(outcome.status, 'accepted', JSON.stringify(outcome));
    return join;
  }

  /** A room on `server` where `user` sent `count` messages `${prefix}1`..; then Bob joins late. */
  async function roomWithHistory(server: FederatedServer, user: TestUser, count: number, prefix: string, options: { visibility?: string } = {}) {
    const roomId = await createRoom(server, user, { preset: 'public_chat' });
    if (options.visibility) await setState(server, user, roomId, 'm.room.history_visibility', { history_visibility: options.visibility });
    const sent: string[] = [];
    for (let i = 1; i <= count; i++) {
      // One of them mentions Bob: live, it would highlight.
      const mention = i === 42 ? { 'm.mentions': { user_ids: [bob.userId] } } : {};
      sent.push(await send(server, user, roomId, { msgtype: 'm.text', body: `${prefix}${i} ${i === 42 ? bob.userId : ''}`.trim(), ...mention }));
    }
    const join = await joinLate(server, roomId);
    return { roomId, sent, join };
  }

  /** Bob's /sync timeline of the room begins with his join: its prev_batch is where paging back starts. */
  async function prevBatchOfJoin(roomId: string, joinId: string): Promise<{ prevBatch: string; since: string }> {
    const body = await sync(b, bob);
    const room = body.rooms.join[roomId];
    assert.deepEqual(ids(room.timeline.events), [joinId]);
    return { prevBatch: room.timeline.prev_batch, since: body.next_batch };
  }

  /** Alice's view on A of the history before the join, newest first: what B must end up showing. */
  async function historyOnA(roomId: string, joinId: string): Promise<any[]> {
    const context = (await a.request('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/context/${encodeURIComponent(joinId)}?limit=0`, { token: alice.accessToken })).body;
    return (await pageAll(a, alice, roomId, { dir: 'b', limit: 50, from: context.start })).events;
  }

  it("pages back past B's join through all of A's history, in A's order, fetched by backfill and never news", async () => {
    const { roomId, join } = await roomWithHistory(a, alice, 60, 'm');
    const { prevBatch, since } = await prevBatchOfJoin(roomId, join.id);
    const expected = ids(await historyOnA(roomId, join.id));

    const pages: any[] = [];
    let from: string | undefined = prevBatch;
    while (from !== undefined) {
      const page = await messages(b, bob, roomId, { dir: 'b', limit: 20, from });
      assert.equal(page.start, from);
      pages.push(page);
      from = page.end;
      assert.ok(pages.length < 20, 'paging did not end');
    }
    const shown = pages.flatMap((p) => p.chunk);
    assert.deepEqual(ids(shown), expected);
    assert.deepEqual(bodies(shown), Array.from({ length: 60 }, (_, i) => `m${60 - i}${60 - i === 42 ? ` ${bob.userId}` : ''}`));
    assert.equal(shown.at(-1).type, 'm.room.create');
    assert.equal(pages[0].chunk.length, 20);
    assert.ok(requests.length >= 3, `backfill requests: ${requests.length}`);
    assert.ok(requests.every(([server, room]) => server === a.name && room === roomId));
    // Stored as history: below every live stream position.
    const stored = await b.hs.services.stores.events.get(expected);
    assert.ok([...stored.values()].every((e) => e.status === 'accepted' && e.streamOrdering! < 0));

    // Tokens inside the history have negative stream parts; they page forwards too: the events after them, oldest first, up to the join.
    assert.match(pages[1].end, /^t[0-9]+--[1-9][0-9]*$/);
    expectError(await getMessages(b, bob, roomId, { dir: 'b', from: 't5---3' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(b, bob, roomId, { dir: 'b', from: 't-5-3' }), 400, 'M_INVALID_PARAM');
    const forwards = await messages(b, bob, roomId, { dir: 'f', limit: 30, from: pages[1].end });
    assert.deepEqual(ids(forwards.chunk), [...expected.slice(0, 40)].reverse().concat(join.id).slice(0, 30));

    // A live message from A after the backfill: the only thing B's incremental /sync shows, and the only notification.
    const liveId = await send(a, alice, roomId, { msgtype: 'm.text', body: 'live' });
    const live = (await a.hs.services.stores.events.get([liveId])).get(liveId)!.event.pdu;
    const pushed = await a.hs.federation.client.put<any>(b.name, `${V1}/send/live${++txn}`, { origin: a.name, origin_server_ts: Date.now(), pdus: [live], edus: [] });
    assert.deepEqual(pushed, { pdus: { [liveId]: {} } });
    const incremental = await sync(b, bob, { since, timeout: 0 });
    assert.deepEqual(ids(timelineOf(incremental, roomId)), [liveId]);
    assert.deepEqual(incremental.rooms.join[roomId].unread_notifications, { notification_count: 1, highlight_count: 0 });
    const notifications = (await b.request('GET', '/_matrix/client/v3/notifications', { token: bob.accessToken })).body.notifications;
    assert.deepEqual(notifications.map((n: any) => n.event.event_id), [liveId]);
    // An initial sync does not show the history either: its timeline starts at the join.
    assert.deepEqual(ids(timelineOf(await sync(b, bob), roomId)), [join.id, liveId]);

    // Paging again reads what is stored: no request.
    requests = [];
    assert.deepEqual(ids((await pageAll(b, bob, roomId, { dir: 'b', limit: 25, from: prevBatch })).events), expected);
    assert.equal(requests.length, 0);
  });

  it('fills a gap /get_missing_events left in the middle of the timeline: B ends up showing the room as A does', async () => {
    const { roomId } = await roomWithHistory(a, alice, 5, 'h');
    const { next_batch: since } = await sync(b, bob);
    // 30 messages B never receives, then one pushed to it: B fetches 20 of the 30 (get_missing_events) and the state before
    // the other 10 (state_ids), which leaves the 10 out of its timeline.
    for (let i = 1; i <= 30; i++) await send(a, alice, roomId, { msgtype: 'm.text', body: `g${i}` });
    const xId = await send(a, alice, roomId, { msgtype: 'm.text', body: 'x' });
    const x = (await a.hs.services.stores.events.get([xId])).get(xId)!.event.pdu;
    await a.hs.federation.client.put<any>(b.name, `${V1}/send/gap${++txn}`, { origin: a.name, origin_server_ts: Date.now(), pdus: [x], edus: [] });
    const afterGap = await sync(b, bob, { since, timeout: 0, filter: { room: { timeline: { limit: 50 } } } });
    assert.deepEqual(bodies(timelineOf(afterGap, roomId)), [...Array.from({ length: 20 }, (_, i) => `g${i + 11}`), 'x']);

    const onA = ids((await pageAll(a, alice, roomId, { dir: 'b', limit: 30 })).events);
    const onB = ids((await pageAll(b, bob, roomId, { dir: 'b', limit: 30 })).events);
    assert.deepEqual(onB, onA);
    assert.ok(requests.length >= 2, `backfill requests: ${requests.length}`);
    // The ten filled in (and what came before the join) are history: an incremental sync has nothing new.
    assert.deepEqual(timelineOf(await sync(b, bob, { since: afterGap.next_batch, timeout: 0 }), roomId), []);
  });

  it('fetches nothing, and shows nothing before the join, when history is visible to joined members only', async () => {
    const { roomId, join } = await roomWithHistory(a, alice, 10, 'secret', { visibility: 'joined' });
    const { prevBatch } = await prevBatchOfJoin(roomId, join.id);
    const page = await messages(b, bob, roomId, { dir: 'b', limit: 20, from: prevBatch });
    assert.deepEqual(page.chunk, []);
    assert.equal(page.end, undefined);
    assert.equal(requests.length, 0);
    // The history is there on A, and paging Bob's room from its end shows the join and nothing before it.
    assert.equal(bodies(await historyOnA(roomId, join.id)).length, 10);
    assert.deepEqual(ids((await pageAll(b, bob, roomId, { dir: 'b', limit: 20 })).events), [join.id]);
  });

  it('drops an event of the backfill answer whose signature is forged; the rest is shown', async () => {
    const { roomId, join, sent } = await roomWithHistory(a, alice, 10, 'f');
    const { prevBatch } = await prevBatchOfJoin(roomId, join.id);
    const forgedId = sent[4];
    const version = roomVersion((await a.hs.services.stores.rooms.get(roomId))!.version)!;
    const aKeyId = signingKeyPair(parseSigningKey(a.config.signing_key)).keyId;
    const impostor: SigningKeyPair = { ...signingKeyPair(parseSigningKey(generateSigningKey())), keyId: aKeyId };
    const forged = new Set<string>();
    tamper = (pdus) =>
      pdus.map((pdu) => {
        const p = pdu as Pdu;
        if (p.content.body !== 'f5') return pdu;
        const { signatures: _signatures, ...unsigned } = p;
        forged.add(forgedId);
        return addEventSignature(unsigned, version, a.name, impostor);
      });
    const shown = (await pageAll(b, bob, roomId, { dir: 'b', limit: 30, from: prevBatch })).events;
    assert.ok(forged.size === 1 && requests.length >= 1);
    assert.deepEqual(bodies(shown), ['f10', 'f9', 'f8', 'f7', 'f6', 'f4', 'f3', 'f2', 'f1']);
    assert.notEqual((await b.hs.services.stores.events.get([forgedId])).get(forgedId)?.status, 'accepted');
  });

  it('answers with what B has when no server can fill the gap, with an end token to retry with; the gap is not asked again at once', async () => {
    const { roomId, join } = await roomWithHistory(c, carol, 5, 'c');
    const { prevBatch } = await prevBatchOfJoin(roomId, join.id);
    await c.stop();
    cStopped = true;
    const page = await messages(b, bob, roomId, { dir: 'b', limit: 10, from: prevBatch });
    assert.deepEqual(page.chunk, []);
    assert.equal(typeof page.end, 'string');
    assert.deepEqual(requests.map(([server]) => server), [c.name]);
    const again = await messages(b, bob, roomId, { dir: 'b', limit: 10, from: page.end });
    assert.deepEqual(again.chunk, []);
    assert.equal(typeof again.end, 'string');
    assert.equal(requests.length, 1);
    // Paging from the end of the room shows what B has: the join.
    assert.deepEqual(ids((await messages(b, bob, roomId, { dir: 'b', limit: 10 })).chunk), [join.id]);
  });
});

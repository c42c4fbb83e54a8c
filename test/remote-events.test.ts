/**
 * Accepting events from other servers (server/rooms/remote-events.ts): a real
 * Weft server, a room made on it, and a fake "remote.example" with its own
 * key, building events properly and answering the engine's fetches from an
 * in-memory model of the room. What the engine accepted is read back over
 * the Client-Server API (/sync, /messages); statuses from the stores.
 */
import assert from 'node:assert/strict';
import { authorize } from '../spec/auth-rules';
import { roomVersion } from '../spec/room-versions';
import { resolveState } from '../spec/state-resolution';
import { generateSigningKey } from '../server/config/signing-key';
import type { Pdu, RoomEvent } from '../spec/pdu';
import { computeEventId } from '../spec/event-hashes';
import { signEvent } from '../spec/signing';
import type { EventDraft } from '../server/rooms/event-builder';
import type { RemoteEvents } from '../server/rooms/remote-events';
import { FakeSource, RoomModel, serverSigner, signer, verifierFor, type Signer } from './helpers/remote';
import { createRoom, roomPath } from './helpers/rooms';
import { createUser, startServer, type TestServer, type TestUser } from './helpers/server';
import { joinedRoom, sync, timelineOf } from './helpers/sync';
import { messages } from './helpers/timeline';

const REMOTE = 'remote.example';
const BOB = `@bob:${REMOTE}`;
const CHARLIE = `@charlie:${REMOTE}`;

const text = (sender: string, body: string): EventDraft => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });
const member = (sender: string, membership: string, target = sender, extra: Record<string, unknown> = {}): EventDraft => ({
  type: 'm.room.member',
  sender,
  stateKey: target,
  content: { membership, ...extra },
});

for (const versionId of ['1', '10', '11', '12']) {
  const version = roomVersion(versionId)!;

  describe(`remote events (room version ${versionId})`, function () {
    let server: TestServer;
    let alice: TestUser;
    let remote: Signer;
    let local: Signer;
    let engine: RemoteEvents;

    before(async () => {
      server = await startServer();
      alice = await createUser(server, 'alice');
      remote = signer(REMOTE);
      local = serverSigner(server);
      engine = server.hs.services.remoteEvents;
    });
    after(() => server.stop());

    /** A public room alice made on the test server, its model, and a remote answering from it. */
    async function room() {
      const roomId = await createRoom(server, alice, { preset: 'public_chat', room_version: versionId });
      const model = await RoomModel.ofServer(server, roomId, version, [remote, local]);
      const source = new FakeSource(model);
      engine.setFederationHooks({ verifier: verifierFor(remote, local), source });
      const receive = (event: RoomEvent | { pdu: unknown }) => engine.receive(REMOTE, roomId, event.pdu);
      return { roomId, model, source, receive };
    }

    const statusOf = async (eventId: string) => (await server.hs.services.stores.events.get([eventId])).get(eventId)?.status;

    async function timelineIds(roomId: string): Promise<string[]> {
      const page = await messages(server, alice, roomId, { dir: 'b', limit: 100 });
      return page.chunk.map((e: any) => e.event_id);
    }

    async function ban(roomId: string, userId: string): Promise<void> {
      const res = await server.request('POST', roomPath(roomId, '/ban'), { token: alice.accessToken, body: { user_id: userId } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }

    it('accepts a remote join and message, which reach /sync and /messages', async () => {
      const { roomId, model, receive } = await room();
      const since = (await sync(server, alice)).next_batch;

      const join = model.build(member(BOB, 'join'));
      assert.deepEqual(await receive(join), { eventId: join.id, status: 'accepted' });
      const hello = model.build(text(BOB, 'hello from remote'));
      assert.deepEqual(await receive(hello), { eventId: hello.id, status: 'accepted' });
      assert.deepEqual(await receive(hello), { eventId: hello.id, status: 'accepted', alreadyStored: true });

      const synced = timelineOf(await sync(server, alice, { since, timeout: 0 }), roomId);
      assert.deepEqual(synced.map((e: any) => e.event_id), [join.id, hello.id]);
      assert.equal(synced[1].content.body, 'hello from remote');
      assert.deepEqual((await timelineIds(roomId)).slice(0, 2), [hello.id, join.id]);

      const joined = await server.request('GET', roomPath(roomId, '/joined_members'), { token: alice.accessToken });
      assert.ok(BOB in joined.body.joined, JSON.stringify(joined.body));
      // A local event now builds on the remote one.
      const res = await server.request('PUT', roomPath(roomId, '/send/m.room.message/after-remote'), { token: alice.accessToken, body: { msgtype: 'm.text', body: 'hi bob' } });
      assert.equal(res.status, 200);
      const stored = (await server.hs.services.stores.events.get([res.body.event_id])).get(res.body.event_id)!;
      assert.deepEqual(stored.event.pdu.prev_events.map((p) => (typeof p === 'string' ? p : p[0])), [hello.id]);
    });

    it('drops events with bad signatures, malformed events and events for unknown rooms, storing nothing', async () => {
      const { roomId, model, receive } = await room();
      await receive(model.build(member(BOB, 'join')));

      const forged = model.build(text(BOB, 'forged'), { signedBy: signer(REMOTE), detached: true });
      const outcome = await receive(forged);
      assert.equal(outcome.status, 'dropped');
      assert.match(outcome.reason!, /signature/);
      assert.equal(await statusOf(forged.id), undefined);

      const unsigned = model.resign(model.build(text(BOB, 'unsigned'), { detached: true }), () => {});
      delete (unsigned.pdu.signatures as Record<string, unknown>)[REMOTE];
      assert.equal((await receive(unsigned)).status, 'dropped');

      const { depth: _depth, ...noDepth } = model.build(text(BOB, 'no depth'), { detached: true }).pdu;
      const malformed = await receive({ pdu: noDepth });
      assert.equal(malformed.status, 'dropped');
      assert.match(malformed.reason!, /malformed/);

      const elsewhere = await engine.receive(REMOTE, '!unknown:remote.example', model.build(text(BOB, 'lost'), { detached: true }).pdu);
      assert.deepEqual(elsewhere, { status: 'dropped', reason: 'unknown room' });
      assert.ok(!(await timelineIds(roomId)).includes(forged.id));
    });

    it('keeps the redacted copy of an event whose content hash does not match', async () => {
      const { roomId, model, receive } = await room();
      await receive(model.build(member(BOB, 'join')));
      const original = model.build(text(BOB, 'original'));
      const tampered = { ...original.pdu, content: { msgtype: 'm.text', body: 'tampered' } };

      assert.deepEqual(await engine.receive(REMOTE, roomId, tampered), { eventId: original.id, status: 'accepted' });
      const stored = (await server.hs.services.stores.events.get([original.id])).get(original.id)!;
      assert.deepEqual(stored.event.pdu.content, {});
      const page = await messages(server, alice, roomId, { dir: 'b', limit: 1 });
      assert.equal(page.chunk[0].event_id, original.id);
      assert.deepEqual(page.chunk[0].content, {});
    });

    it('rejects an event its own auth events do not allow, and never shows it', async () => {
      const { roomId, model, receive } = await room();
      const since = (await sync(server, alice)).next_batch;
      const intruder = model.build(text(CHARLIE, 'not a member'));
      const outcome = await receive(intruder);
      assert.equal(outcome.status, 'rejected');
      assert.match(outcome.reason!, /not joined/);
      assert.equal(await statusOf(intruder.id), 'rejected');
      assert.deepEqual(timelineOf(await sync(server, alice, { since, timeout: 0 }), roomId), []);
      assert.ok(!(await timelineIds(roomId)).includes(intruder.id));
      // Not fetched again, not checked again.
      assert.deepEqual(await receive(intruder), { eventId: intruder.id, status: 'rejected', alreadyStored: true });
    });

    it('rejects an event that passes its auth events but not the state before it', async () => {
      const { roomId, model, receive } = await room();
      const join = model.build(member(BOB, 'join'));
      await receive(join);
      await ban(roomId, BOB);
      await model.refresh(server);
      const banId = model.last;
      // Bob's server names the ban as prev event but cites his join as auth event.
      const evading = model.build(text(BOB, 'after my ban'), { prev: [banId], stateBefore: model.stateBefore.get(banId) });
      assert.ok(evading.pdu.auth_events.some((a) => (typeof a === 'string' ? a : a[0]) === join.id));
      const outcome = await receive(evading);
      assert.equal(outcome.status, 'rejected');
      assert.match(outcome.reason!, /state before the event/);
      assert.ok(!(await timelineIds(roomId)).includes(evading.id));
    });

    it('soft-fails an event that passes the state before it but not the current state', async () => {
      const { roomId, model, receive } = await room();
      await receive(model.build(member(BOB, 'join')));
      const earlier = model.build(text(BOB, 'before the ban'));
      await receive(earlier);
      await ban(roomId, BOB);
      await model.refresh(server);
      const since = (await sync(server, alice)).next_batch;

      const late = model.build(text(BOB, 'sent from before the ban'), { prev: [earlier.id] });
      const outcome = await receive(late);
      assert.equal(outcome.status, 'soft_failed');
      assert.match(outcome.reason!, /current state/);
      assert.equal(await statusOf(late.id), 'soft_failed');
      assert.deepEqual(timelineOf(await sync(server, alice, { since, timeout: 0 }), roomId), []);
      assert.ok(!(await timelineIds(roomId)).includes(late.id));
      const extremities = await server.hs.services.stores.events.forwardExtremities(roomId);
      assert.ok(!extremities.some((e) => e.eventId === late.id));
    });

    it('fetches missing prev events with get_missing_events', async () => {
      const { roomId, model, source, receive } = await room();
      await receive(model.build(member(BOB, 'join')));
      const [m1, m2, m3] = [1, 2, 3].map((n) => model.build(text(BOB, `m${n}`)));
      assert.deepEqual(await receive(m3), { eventId: m3.id, status: 'accepted' });
      assert.equal(source.count('getMissingEvents'), 1);
      assert.equal(source.count('stateIds'), 0);
      assert.equal(await statusOf(m1.id), 'accepted');
      assert.equal(await statusOf(m2.id), 'accepted');
      assert.deepEqual((await timelineIds(roomId)).slice(0, 3), [m3.id, m2.id, m1.id]);
    });

    it('takes a transaction\'s events parents first, whatever their order', async () => {
      const { roomId, model, source } = await room();
      const join = model.build(member(BOB, 'join'));
      const [m1, m2] = [1, 2].map((n) => model.build(text(BOB, `batch ${n}`)));
      const outcomes = await engine.receiveBatch(REMOTE, roomId, [m2.pdu, join.pdu, m1.pdu]);
      assert.deepEqual(outcomes.map((o) => [o.eventId, o.status]), [[m2.id, 'accepted'], [join.id, 'accepted'], [m1.id, 'accepted']]);
      assert.equal(source.calls.length, 0);
    });

    it('takes the events of a transaction that need nothing fetched together, and fetches for the rest', async () => {
      const { roomId, model, source } = await room();
      const join = model.build(member(BOB, 'join'));
      const [m1, m2] = [1, 2].map((n) => model.build(text(BOB, `chain ${n}`)));
      // The transaction leaves out the event between m2 and `found`: `found` needs fetching.
      const lost = model.build(text(BOB, 'lost'));
      const found = model.build(text(BOB, 'found'));
      const outcomes = await engine.receiveBatch(REMOTE, roomId, [found.pdu, m2.pdu, join.pdu, m1.pdu]);
      assert.deepEqual(outcomes.map((o) => [o.eventId, o.status]), [[found.id, 'accepted'], [m2.id, 'accepted'], [join.id, 'accepted'], [m1.id, 'accepted']]);
      assert.equal(source.count('getMissingEvents'), 1);
      assert.equal(await statusOf(lost.id), 'accepted');
      assert.deepEqual((await timelineIds(roomId)).slice(0, 5), [found.id, lost.id, m2.id, m1.id, join.id]);
    });

    it('fills a gap too big for get_missing_events with state_ids, storing what it fetched as outliers', async () => {
      const { roomId, model, source, receive } = await room();
      await receive(model.build(member(BOB, 'join')));
      const chain: RoomEvent[] = [];
      for (let n = 1; n <= 30; n++) {
        chain.push(n === 5 ? model.build(member(BOB, 'join', BOB, { displayname: 'Bob' })) : model.build(text(BOB, `gap ${n}`)));
      }
      const last = chain[29];
      assert.deepEqual(await receive(last), { eventId: last.id, status: 'accepted' });

      const gmeCall = source.calls.find((c) => c.method === 'getMissingEvents')!;
      assert.equal(gmeCall.args[4], 20);
      // The 20 events nearest the received one came by get_missing_events; the state before the earliest of them by state_ids.
      assert.deepEqual(source.calls.filter((c) => c.method === 'stateIds').map((c) => c.args[2]), [chain[8].id]);
      assert.equal(await statusOf(chain[8].id), 'outlier');
      assert.equal(await statusOf(chain[4].id), 'outlier');
      assert.equal(await statusOf(chain[0].id), undefined);
      for (const event of chain.slice(9)) assert.equal(await statusOf(event.id), 'accepted');

      const ids = await timelineIds(roomId);
      assert.deepEqual(ids.slice(0, 21), chain.slice(9).map((e) => e.id).reverse());
      assert.ok(!ids.includes(chain[8].id));
      const bob = await server.hs.services.stores.roomState.currentStateEvent(roomId, 'm.room.member', BOB);
      assert.equal(bob?.id, chain[4].id);

      // The outlier arriving itself later joins the DAG, and the rest of the gap comes with it.
      assert.deepEqual(await receive(chain[8]), { eventId: chain[8].id, status: 'accepted' });
      for (const event of chain) assert.equal(await statusOf(event.id), 'accepted');
      assert.equal((await timelineIds(roomId)).filter((id) => chain.some((e) => e.id === id)).length, 30);
    });

    it('applies a remote redaction its sender may make', async () => {
      const { roomId, model, receive } = await room();
      await receive(model.build(member(BOB, 'join')));
      const oops = model.build(text(BOB, 'oops'));
      await receive(oops);
      const redaction = model.build({ type: 'm.room.redaction', sender: BOB, content: {}, redacts: oops.id });
      assert.equal((await receive(redaction)).status, 'accepted');
      const page = await messages(server, alice, roomId, { dir: 'b', limit: 2 });
      const redacted = page.chunk.find((e: any) => e.event_id === oops.id);
      assert.deepEqual(redacted.content, {});
      assert.equal(redacted.unsigned.redacted_because.event_id, redaction.id);
    });

    it('withholds a redaction from clients until the event it redacts arrives, then shows both, redacted', async () => {
      const { roomId, model, receive } = await room();
      const join = model.build(member(BOB, 'join'));
      await receive(join);
      const since = (await sync(server, alice)).next_batch;
      const oops = model.build(text(BOB, 'oops'));
      // On a fork beside the message, so that receiving it does not fetch the message.
      const redaction = model.build({ type: 'm.room.redaction', sender: BOB, content: {}, redacts: oops.id }, { prev: [join.id] });

      assert.deepEqual(await receive(redaction), { eventId: redaction.id, status: 'accepted' });
      assert.deepEqual(timelineOf(await sync(server, alice, { since, timeout: 0 }), roomId), []);
      assert.ok(!(await timelineIds(roomId)).includes(redaction.id));
      const eventPath = roomPath(roomId, `/event/${encodeURIComponent(redaction.id)}`);
      assert.equal((await server.request('GET', eventPath, { token: alice.accessToken })).status, 404);

      assert.deepEqual(await receive(oops), { eventId: oops.id, status: 'accepted' });
      assert.equal((await server.request('GET', eventPath, { token: alice.accessToken })).status, 200);
      const synced = timelineOf(await sync(server, alice, { since, timeout: 0 }), roomId);
      assert.deepEqual(synced.map((e: any) => e.event_id), [oops.id, redaction.id]);
      assert.deepEqual(synced[0].content, {});
      assert.equal(synced[0].unsigned.redacted_because.event_id, redaction.id);
      assert.deepEqual((await timelineIds(roomId)).slice(0, 2), [redaction.id, oops.id]);
    });

    it('never applies a redaction whose target is where this room version does not look for it', async () => {
      const { roomId, model, receive } = await room();
      const join = model.build(member(BOB, 'join'));
      await receive(join);
      const oops = model.build(text(BOB, 'kept'));
      // The target at the top level in versions 11 and later, in `content` before: where the version does not read it.
      const built = model.build({ type: 'm.room.redaction', sender: BOB, content: {} }, { prev: [join.id], detached: true });
      const { hashes: _hashes, signatures: _signatures, ...unsigned } = built.pdu as Record<string, unknown>;
      const modern = version.eventFormat === 'v11' || version.eventFormat === 'v12';
      const misplaced = modern ? { ...unsigned, redacts: oops.id } : { ...unsigned, content: { redacts: oops.id } };
      const pdu = signEvent(misplaced, version, REMOTE, remote.key) as unknown as Pdu;
      const redaction = { id: computeEventId(pdu, version), pdu };

      // Rooms v1-v2 reject a redaction without a top-level target by their auth rules.
      assert.equal((await receive(redaction)).status, version.redactionAuthRule ? 'rejected' : 'accepted');
      await receive(oops);
      const kept = (await messages(server, alice, roomId, { dir: 'b', limit: 5 })).chunk.find((e: any) => e.event_id === oops.id);
      assert.equal(kept.content.body, 'kept');
      assert.equal(kept.unsigned?.redacted_because, undefined);
    });

    it("never shows a redaction of another server's event by a sender without the redact level", async () => {
      const { roomId, model, receive } = await room();
      await receive(model.build(member(BOB, 'join')));
      const since = (await sync(server, alice)).next_batch;
      const res = await server.request('PUT', roomPath(roomId, '/send/m.room.message/keep'), { token: alice.accessToken, body: { msgtype: 'm.text', body: 'keep me' } });
      const kept: string = res.body.event_id;
      await model.refresh(server);
      const redaction = model.build({ type: 'm.room.redaction', sender: BOB, content: {}, redacts: kept });

      // Rooms v1-v2 reject it by their auth rules; later versions accept it into the DAG and withhold it.
      assert.equal((await receive(redaction)).status, version.redactionAuthRule ? 'rejected' : 'accepted');
      const synced = timelineOf(await sync(server, alice, { since, timeout: 0 }), roomId);
      assert.deepEqual(synced.map((e: any) => e.event_id), [kept]);
      assert.equal(synced[0].content.body, 'keep me');
      assert.ok(!(await timelineIds(roomId)).includes(redaction.id));
    });
  });

  describe(`remote events: a room joined from its state, forks and state resolution (room version ${versionId})`, function () {
    const ALICE = `@alice:${REMOTE}`;
    const remote = signer(REMOTE);
    /** Both test servers run with this key, so dave's join (and so every later event ID) is the same on both. */
    const sharedKey = generateSigningKey();
    const localKey = signer('localhost', sharedKey);

    /** The room as remote.example has it, with dave@localhost's join (signed with the key both test servers share). */
    function remoteRoom(): { model: RoomModel; join: RoomEvent; forks: Record<'a1' | 'a2' | 'b1' | 'b2', RoomEvent> } {
      const model = new RoomModel(version, version.eventFormat === 'v12' ? undefined : `!forks:${REMOTE}`, new Map([[REMOTE, remote], ['localhost', localKey]]));
      model.build({ type: 'm.room.create', sender: ALICE, stateKey: '', content: { room_version: versionId } });
      model.build(member(ALICE, 'join'));
      const users = version.privilegedCreators ? { [BOB]: 50 } : { [ALICE]: 100, [BOB]: 50 };
      const levels = { users, users_default: 0, state_default: 50, events_default: 0, ban: 50, kick: 50, redact: 50, invite: 0 };
      model.build({ type: 'm.room.power_levels', sender: ALICE, stateKey: '', content: levels });
      model.build({ type: 'm.room.join_rules', sender: ALICE, stateKey: '', content: { join_rule: 'public' } });
      model.build(member(BOB, 'join'));
      model.build(member(CHARLIE, 'join'));
      const join = model.build(member('@dave:localhost', 'join'));
      const a1 = model.build(member(ALICE, 'ban', BOB), { prev: [join.id] });
      const a2 = model.build({ type: 'm.room.topic', sender: ALICE, stateKey: '', content: { topic: 'A' } });
      const b1 = model.build(
        { type: 'm.room.power_levels', sender: BOB, stateKey: '', content: { ...levels, users: { ...users, [CHARLIE]: 50 } } },
        { prev: [join.id] },
      );
      const b2 = model.build({ type: 'm.room.topic', sender: ALICE, stateKey: '', content: { topic: 'B' } });
      return { model, join, forks: { a1, a2, b1, b2 } };
    }

    const sorted = (state: Map<string, string>) => [...state].sort(([a], [b]) => (a < b ? -1 : 1));

    async function expectedResolution(model: RoomModel, ...tips: string[]): Promise<Map<string, string>> {
      const states = tips.map((tip) => new Map([...model.stateAfter.get(tip)!].map(([key, e]) => [key, e.id])));
      const source = { get: async (ids: string[]) => new Map(ids.flatMap((id) => (model.events.has(id) ? [[id, model.get(id)] as const] : []))) };
      return resolveState(version, states, source, authorize);
    }

    /** Joins dave on a fresh server from the room's state, delivers the forks in `order`, and returns the outcome. */
    type Room = ReturnType<typeof remoteRoom> & { merge: RoomEvent; merged: Map<string, string> };

    /** The room, and a merge of the forks built on the state the spec's algorithm gives (in v1-v2, event IDs are random: build once). */
    async function roomWithMerge(): Promise<Room> {
      const room = remoteRoom();
      const { model, forks } = room;
      const merged = await expectedResolution(model, forks.a2.id, forks.b2.id);
      const stateBefore = new Map([...merged].map(([key, id]) => [key, model.get(id)]));
      const merge = model.build(text(ALICE, 'merge'), { prev: [forks.a2.id, forks.b2.id], stateBefore });
      return { ...room, merge, merged };
    }

    async function run(order: ('a1' | 'a2' | 'b1' | 'b2')[], { model, join, forks, merge }: Room) {
      const server = await startServer({ signing_key: sharedKey });
      try {
        const dave = await createUser(server, 'dave');
        const engine = server.hs.services.remoteEvents;
        engine.setFederationHooks({ verifier: verifierFor(remote, localKey), source: new FakeSource(model) });
        const stateIds = [...model.stateBefore.get(join.id)!.values()].map((e) => e.id);
        const joined = await engine.acceptRoomState(REMOTE, {
          roomId: model.roomId!,
          version: versionId,
          state: stateIds.map((id) => model.get(id).pdu),
          authChain: model.authChain([...stateIds, join.id]).map((id) => model.get(id).pdu),
          join: join.pdu,
        });
        assert.deepEqual(joined, { eventId: join.id, status: 'accepted' });
        const first = await sync(server, dave);
        const synced = first.rooms.join[model.roomId!];
        assert.ok(synced, JSON.stringify(first.rooms));
        assert.ok(synced.state.events.some((e: any) => e.type === 'm.room.member' && e.state_key === BOB && e.content.membership === 'join'));
        assert.equal(await server.hs.services.stores.events.get([stateIds[0]]).then((m) => m.get(stateIds[0])!.status), 'outlier');

        const statuses: Record<string, string> = {};
        for (const name of order) statuses[name] = (await engine.receive(REMOTE, model.roomId!, forks[name].pdu)).status;
        const { stores } = server.hs.services;
        const afterForks = await stores.roomState.currentState(model.roomId!);
        // A client asking for the state after the timeline sees the resolved topic, whichever fork came last.
        const forksSync = joinedRoom(await sync(server, dave, { since: first.next_batch, timeout: 0, use_state_after: 'true' }), model.roomId!);
        const shownTopic = forksSync.state_after.events.find((e: any) => e.type === 'm.room.topic')?.event_id;
        const mergeOutcome = await engine.receive(REMOTE, model.roomId!, merge.pdu);
        const afterMerge = await stores.roomState.currentState(model.roomId!);
        const davesView = timelineOf(await sync(server, dave, { since: first.next_batch, timeout: 0 }), model.roomId!).map((e: any) => e.event_id);
        return { statuses, afterForks, afterMerge, mergeOutcome, davesView, shownTopic };
      } finally {
        await server.stop();
      }
    }

    it('joins only on a state that allows the join; a state event with a bad signature is not part of it, and nothing is stored', async () => {
      const { model, join } = remoteRoom();
      const server = await startServer({ signing_key: sharedKey });
      try {
        const { remoteEvents: engine, stores } = server.hs.services;
        const source = new FakeSource(model);
        engine.setFederationHooks({ verifier: verifierFor(remote, localKey), source });
        const stateIds = [...model.stateBefore.get(join.id)!.values()].map((e) => e.id);
        const joinRules = stateIds.find((id) => model.get(id).pdu.type === 'm.room.join_rules')!;
        const forged = model.resign(model.get(joinRules), () => {}, signer(REMOTE));
        assert.equal(forged.id, joinRules);
        const outcome = await engine.acceptRoomState(REMOTE, {
          roomId: model.roomId!,
          version: versionId,
          state: stateIds.map((id) => (id === joinRules ? forged.pdu : model.get(id).pdu)),
          authChain: [],
          join: join.pdu,
        });
        assert.equal(outcome.status, 'rejected');
        assert.match(outcome.reason!, /state before the event/);
        // The join's auth events were fetched (the genuine join rules among them), then all undone with the join.
        assert.equal(source.count('eventAuth'), 1);
        assert.equal(await stores.rooms.get(model.roomId!), undefined);
        assert.equal((await stores.events.get([join.id, joinRules])).size, 0);
      } finally {
        await server.stop();
      }
    });

    it('resolves concurrent state (a ban against a power level change, two topics) the same whatever the arrival order', async () => {
      const room = await roomWithMerge();
      const { forks, merged } = room;
      const first = await run(['a1', 'a2', 'b1', 'b2'], room);
      const second = await run(['b1', 'b2', 'a1', 'a2'], room);

      // Bob's power level change arrives after his ban in the first order: valid at its place in the DAG, soft-failed now.
      assert.deepEqual(first.statuses, { a1: 'accepted', a2: 'accepted', b1: 'soft_failed', b2: 'accepted' });
      assert.deepEqual(second.statuses, { b1: 'accepted', b2: 'accepted', a1: 'accepted', a2: 'accepted' });

      assert.deepEqual(sorted(first.afterForks), sorted(merged));
      assert.deepEqual(sorted(second.afterForks), sorted(merged));
      assert.equal(first.mergeOutcome.status, 'accepted');
      assert.equal(second.mergeOutcome.status, 'accepted');
      assert.deepEqual(sorted(first.afterMerge), sorted(second.afterMerge));
      assert.deepEqual(sorted(first.afterMerge), sorted(merged));
      if (version.stateResolution !== 'v1') {
        // The ban wins over the power level change its target sent concurrently.
        assert.equal(merged.get('m.room.member\u0000' + BOB), forks.a1.id);
        assert.notEqual(merged.get('m.room.power_levels\u0000'), forks.b1.id);
      }
      assert.ok([forks.a2.id, forks.b2.id].includes(merged.get('m.room.topic\u0000')!));
      assert.equal(first.shownTopic, merged.get('m.room.topic\u0000'));
      assert.equal(second.shownTopic, merged.get('m.room.topic\u0000'));
      // Dave saw the merge, and never the soft-failed event.
      assert.ok(first.davesView.includes(room.merge.id));
      assert.ok(!first.davesView.includes(forks.b1.id));
    });
  });
}

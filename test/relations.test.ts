/**
 * Event relationships: bundled aggregations (m.replace, m.thread, m.reference)
 * on served events, GET /relations with paging and recursion, GET /threads,
 * and relations recorded for every persisted event (federation's path too).
 */
import assert from 'node:assert/strict';
import type { RoomEvent } from '../spec/pdu';
import type { EventStatus } from '../storage/events';
import { pdu, roomId as newRoomId, statePdu } from './helpers/pdus';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';
import { openStores, type TestStores } from './helpers/stores';
import { context, ids, ignore, messages, redact, relations, threads } from './helpers/timeline';

const text = (body: string, relatesTo?: Record<string, unknown>) => ({
  msgtype: 'm.text',
  body,
  ...(relatesTo && { 'm.relates_to': relatesTo }),
});
const edit = (target: string, body: string) => ({
  ...text(`* ${body}`, { rel_type: 'm.replace', event_id: target }),
  'm.new_content': text(body),
});
const inThread = (root: string, body: string) => text(body, { rel_type: 'm.thread', event_id: root });
const reference = (target: string) => ({ 'm.relates_to': { rel_type: 'm.reference', event_id: target } });
const reaction = (target: string, key: string) => ({ 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });

describe('relations', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
  });
  after(() => server.stop());

  async function publicRoom(...members: TestUser[]): Promise<string> {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    for (const member of members) await join(server, member, room);
    return room;
  }

  async function event(user: TestUser, room: string, eventId: string): Promise<any> {
    const res = await server.request('GET', roomPath(room, `/event/${enc(eventId)}`), { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  /** The event as the last page of /messages serves it. */
  async function served(user: TestUser, room: string, eventId: string): Promise<any> {
    const page = await messages(server, user, room, { dir: 'b', limit: 50 });
    const found = page.chunk.find((e: any) => e.event_id === eventId);
    assert.ok(found, `${eventId} not in /messages`);
    return found;
  }

  describe('bundled m.replace', () => {
    it('bundles the newest valid edit and leaves the content as it was, in /messages, /event and /context', async () => {
      const room = await publicRoom(bob);
      const original = await send(server, alice, room, text('original'));
      const edits = [await send(server, alice, room, edit(original, 'first')), await send(server, alice, room, edit(original, 'second'))];
      await send(server, bob, room, edit(original, 'not the sender'));
      await send(server, alice, room, { ...text('* no new content', { rel_type: 'm.replace', event_id: original }) });
      await send(server, alice, room, edit(original, 'other type'), 'org.example.other');
      const editedEdit = await send(server, alice, room, edit(edits[0], 'edit of an edit'));

      const candidates = await Promise.all(edits.map((id) => event(alice, room, id)));
      const newest = candidates.sort((a, b) => b.origin_server_ts - a.origin_server_ts || (a.event_id < b.event_id ? 1 : -1))[0];
      for (const got of [await served(alice, room, original), await event(alice, room, original), (await context(server, alice, room, original)).body.event]) {
        assert.equal(got.content.body, 'original');
        const bundled = got.unsigned['m.relations']['m.replace'];
        assert.equal(bundled.event_id, newest.event_id);
        assert.deepEqual(bundled.content, newest.content);
        assert.equal(bundled.sender, alice.userId);
        assert.equal(bundled.room_id, room);
      }
      const editServed = await served(alice, room, edits[0]);
      assert.equal(editServed.unsigned['m.relations'], undefined, `an edit of an edit is not valid: ${editedEdit}`);
    });

    it('falls back when the newest edit is redacted, and bundles nothing for a redacted original', async () => {
      const room = await publicRoom();
      const original = await send(server, alice, room, text('original'));
      const first = await send(server, alice, room, edit(original, 'first'));
      const second = await send(server, alice, room, edit(original, 'second'));
      await redact(server, alice, room, second);
      assert.equal((await event(alice, room, original)).unsigned['m.relations']['m.replace'].event_id, first);
      await redact(server, alice, room, original);
      const redacted = await event(alice, room, original);
      assert.deepEqual(redacted.content, {});
      assert.equal(redacted.unsigned['m.relations'], undefined);
    });
  });

  describe('bundled m.thread and m.reference', () => {
    it('summarises a thread: latest event (with its own edits), count and participation', async () => {
      const room = await publicRoom(bob, carol);
      const root = await send(server, alice, room, text('root'));
      await send(server, bob, room, inThread(root, 'bob 1'));
      await send(server, alice, room, inThread(root, 'alice 1'));
      const latest = await send(server, bob, room, inThread(root, 'bob 2'));
      const latestEdit = await send(server, bob, room, edit(latest, 'bob 2 edited'));

      const forBob = (await served(bob, room, root)).unsigned['m.relations']['m.thread'];
      assert.equal(forBob.count, 3);
      assert.equal(forBob.current_user_participated, true);
      assert.equal(forBob.latest_event.event_id, latest);
      assert.equal(forBob.latest_event.content.body, 'bob 2');
      assert.equal(forBob.latest_event.room_id, room);
      assert.equal(forBob.latest_event.unsigned['m.relations']['m.replace'].event_id, latestEdit);
      assert.equal((await served(alice, room, root)).unsigned['m.relations']['m.thread'].current_user_participated, true, 'the root sender took part');
      assert.equal((await served(carol, room, root)).unsigned['m.relations']['m.thread'].current_user_participated, false);
      assert.equal((await event(carol, room, root)).unsigned['m.relations']['m.thread'].count, 3);
    });

    it('leaves out the thread events of ignored users', async () => {
      const room = await publicRoom(bob, carol);
      const root = await send(server, alice, room, text('root'));
      const fromAlice = await send(server, alice, room, inThread(root, 'alice'));
      await send(server, bob, room, inThread(root, 'bob'));
      await ignore(server, carol, [bob]);
      try {
        const thread = (await served(carol, room, root)).unsigned['m.relations']['m.thread'];
        assert.deepEqual([thread.count, thread.latest_event.event_id], [1, fromAlice]);
      } finally {
        await ignore(server, carol, []);
      }
      assert.equal((await served(carol, room, root)).unsigned['m.relations']['m.thread'].count, 2);
    });

    it('lists references, leaves annotations unbundled, and drops redacted children', async () => {
      const room = await publicRoom(bob);
      const target = await send(server, alice, room, text('target'));
      const refs = [await send(server, bob, room, reference(target), 'org.example.ref'), await send(server, alice, room, reference(target), 'org.example.ref')];
      await send(server, bob, room, reaction(target, '👍'), 'm.reaction');
      const bundle = (await served(alice, room, target)).unsigned['m.relations'];
      assert.deepEqual(Object.keys(bundle), ['m.reference']);
      assert.deepEqual(bundle['m.reference'], { chunk: refs.map((event_id) => ({ event_id })) });
      await redact(server, bob, room, refs[0]);
      assert.deepEqual((await event(alice, room, target)).unsigned['m.relations']['m.reference'], { chunk: [{ event_id: refs[1] }] });
    });

    it('gives state events and unrelated events no m.relations', async () => {
      const room = await publicRoom();
      const plain = await send(server, alice, room, text('plain'));
      assert.equal((await event(alice, room, plain)).unsigned['m.relations'], undefined);
      const page = await messages(server, alice, room, { dir: 'f', limit: 50 });
      assert.ok(page.chunk.every((e: any) => e.unsigned['m.relations'] === undefined));
    });
  });

  describe('GET /relations', () => {
    let room: string;
    let parent: string;
    /** The parent's direct children, oldest first. */
    const children: string[] = [];
    let threadReply: string;
    let replyEdit: string;

    before(async () => {
      room = await publicRoom(bob);
      parent = await send(server, alice, room, text('parent'));
      for (let i = 0; i < 4; i++) children.push(await send(server, bob, room, reaction(parent, `k${i}`), 'm.reaction'));
      children.push((threadReply = await send(server, bob, room, inThread(parent, 'in thread'))));
      children.push(await send(server, alice, room, reference(parent), 'org.example.ref'));
      children.push(await send(server, alice, room, text('other relation', { rel_type: 'org.example.rel', event_id: parent })));
      replyEdit = await send(server, bob, room, edit(threadReply, 'in thread, edited'));
      await send(server, alice, room, text('a reply is not a relation', { 'm.in_reply_to': { event_id: parent } }));
    });

    const ok = async (path: string, query = {}) => {
      const res = await relations(server, alice, room, path, query);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    it('pages backwards (newest first) by default, and forwards', async () => {
      const collected: string[] = [];
      let from: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await ok(enc(parent), { limit: 3, from });
        if (from !== undefined) assert.equal(page.prev_batch, from);
        collected.push(...ids(page.chunk));
        if (!page.next_batch) break;
        from = page.next_batch;
      }
      assert.deepEqual(collected, [...children].reverse());
      const forwards = await ok(enc(parent), { dir: 'f', limit: 100 });
      assert.deepEqual(ids(forwards.chunk), children);
      assert.equal(forwards.next_batch, undefined);
      assert.equal(forwards.recursion_depth, undefined);
    });

    it('stops at `to`', async () => {
      const first = await ok(enc(parent), { limit: 2 });
      const bounded = await ok(enc(parent), { limit: 100, to: first.next_batch });
      assert.deepEqual(ids(bounded.chunk), ids(first.chunk));
    });

    it('filters by rel type and by event type', async () => {
      assert.deepEqual(ids((await ok(`${enc(parent)}/m.annotation`, { dir: 'f' })).chunk), children.slice(0, 4));
      assert.deepEqual(ids((await ok(`${enc(parent)}/m.thread`)).chunk), [threadReply]);
      assert.deepEqual(ids((await ok(`${enc(parent)}/m.reference/org.example.ref`)).chunk), [children[5]]);
      assert.deepEqual((await ok(`${enc(parent)}/m.reference/m.room.message`)).chunk, []);
    });

    it('recurses three levels when asked, with the filters applied at every level', async () => {
      const recursive = await ok(enc(parent), { recurse: true, dir: 'f', limit: 100 });
      assert.deepEqual(ids(recursive.chunk), [...children, replyEdit]);
      assert.equal(recursive.recursion_depth, 3);
      const direct = await ok(enc(parent), { recurse: false, dir: 'f', limit: 100 });
      assert.deepEqual(ids(direct.chunk), children);
      assert.equal(direct.recursion_depth, 1);
      assert.deepEqual(ids((await ok(`${enc(parent)}/m.thread`, { recurse: true })).chunk), [threadReply]);

      const deep = await send(server, alice, room, text('level 1', { rel_type: 'org.example.chain', event_id: parent }));
      const levels = [deep];
      for (let i = 2; i <= 4; i++) levels.push(await send(server, alice, room, text(`level ${i}`, { rel_type: 'org.example.chain', event_id: levels.at(-1) })));
      assert.deepEqual(ids((await ok(`${enc(parent)}/org.example.chain`, { recurse: true, dir: 'f' })).chunk), levels.slice(0, 3));
    });

    it('carries the children bundled aggregations', async () => {
      const thread = await ok(`${enc(parent)}/m.thread`);
      assert.equal(thread.chunk[0].unsigned['m.relations']['m.replace'].event_id, replyEdit);
    });

    it('answers 404 for an unknown parent and one the user may not see', async () => {
      expectError(await relations(server, alice, room, enc('$unknown')), 404, 'M_NOT_FOUND');
      expectError(await relations(server, carol, room, enc(parent)), 404, 'M_NOT_FOUND');
      const other = await publicRoom();
      expectError(await relations(server, alice, other, enc(parent)), 404, 'M_NOT_FOUND');
    });

    it('refuses bad parameters with 400', async () => {
      expectError(await relations(server, alice, room, enc(parent), { dir: 'x' }), 400, 'M_INVALID_PARAM');
      expectError(await relations(server, alice, room, enc(parent), { recurse: 'yes' }), 400, 'M_INVALID_PARAM');
      expectError(await relations(server, alice, room, enc(parent), { from: 'bad' }), 400, 'M_INVALID_PARAM');
      expectError(await relations(server, alice, room, enc(parent), { limit: -2 }), 400, 'M_INVALID_PARAM');
    });

    it('hides the children sent by ignored users', async () => {
      const everyone = (await ok(enc(parent), { dir: 'f', limit: 100 })).chunk;
      const notBob = everyone.filter((e: any) => e.sender !== bob.userId);
      assert.ok(notBob.length > 0 && notBob.length < everyone.length);
      await ignore(server, alice, [bob]);
      try {
        assert.deepEqual(ids((await ok(enc(parent), { dir: 'f', limit: notBob.length })).chunk), ids(notBob));
      } finally {
        await ignore(server, alice, []);
      }
    });
  });

  describe('GET /threads', () => {
    let room: string;
    let roots: string[];

    before(async () => {
      room = await publicRoom(bob, carol);
      roots = [await send(server, alice, room, text('root A')), await send(server, bob, room, text('root B')), await send(server, alice, room, text('root C'))];
      await send(server, alice, room, inThread(roots[0], 'A 1'));
      await send(server, alice, room, inThread(roots[1], 'B 1'));
      await send(server, alice, room, inThread(roots[2], 'C 1'));
      await send(server, bob, room, inThread(roots[0], 'A 2 by bob'));
    });

    const ok = async (user: TestUser, query = {}) => {
      const res = await threads(server, user, room, query);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    it('lists roots by their latest thread event, with aggregations, paging with next_batch', async () => {
      const all = await ok(alice, { limit: 10 });
      assert.deepEqual(ids(all.chunk), [roots[0], roots[2], roots[1]]);
      assert.equal(all.next_batch, undefined);
      assert.equal(all.chunk[0].unsigned['m.relations']['m.thread'].count, 2);

      const paged: string[] = [];
      let from: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await ok(alice, { limit: 1, from });
        paged.push(...ids(page.chunk));
        if (!page.next_batch) break;
        from = page.next_batch;
      }
      assert.deepEqual(paged, ids(all.chunk));
    });

    it('with include=participated, lists only threads the user started or replied in', async () => {
      assert.deepEqual(ids((await ok(bob, { include: 'participated' })).chunk), [roots[0], roots[1]]);
      assert.deepEqual((await ok(carol, { include: 'participated' })).chunk, []);
      assert.equal((await ok(carol)).chunk.length, 3);
    });

    it('serves roots sent by ignored users redacted', async () => {
      await ignore(server, carol, [bob]);
      try {
        const chunk = (await ok(carol, { limit: 10 })).chunk;
        const rootB = chunk.find((e: any) => e.event_id === roots[1]);
        assert.deepEqual(rootB.content, {});
        assert.equal(chunk.find((e: any) => e.event_id === roots[0]).content.body, 'root A');
      } finally {
        await ignore(server, carol, []);
      }
    });

    it('refuses non-members (403) and bad parameters (400)', async () => {
      const outsider = await createUser(server, 'outsider');
      const members = await publicRoom();
      expectError(await threads(server, outsider, members), 403, 'M_FORBIDDEN');
      expectError(await threads(server, alice, room, { limit: 0 }), 400, 'M_INVALID_PARAM');
      expectError(await threads(server, alice, room, { include: 'mine' }), 400, 'M_INVALID_PARAM');
      expectError(await threads(server, alice, room, { from: 'garbage' }), 400, 'M_INVALID_PARAM');
    });
  });
});

describe('relations storage', () => {
  let s: TestStores;
  beforeEach(async () => {
    s = await openStores();
  });
  afterEach(() => s.close());

  const persist = (room: string, event: RoomEvent, status: EventStatus, stateGroupBefore?: number | null) =>
    s.rooms.withLock(room, (trx) => s.events.persist(trx, { event, roomId: room, status, stateGroupBefore }));

  it('records relations of every persisted event, and lists a thread once its events join the timeline', async () => {
    const room = newRoomId();
    await s.rooms.withLock(room, (trx) => s.rooms.create(room, '10', trx));
    const create = statePdu(room, 'm.room.create', '');
    const { stateGroupAfter: group } = await persist(room, create, 'accepted', null);
    const root = pdu(room, { prev: [create] });
    await persist(room, root, 'accepted', group);
    const reply = pdu(room, { prev: [root], content: { body: 'reply', 'm.relates_to': { rel_type: 'm.thread', event_id: root.id } } });
    const richReply = pdu(room, { prev: [root], content: { body: 'x', 'm.relates_to': { 'm.in_reply_to': { event_id: root.id } } } });
    await persist(room, richReply, 'accepted', group);

    // Received over federation as an outlier first: recorded, but not live until it is accepted.
    await persist(room, reply, 'outlier');
    assert.deepEqual(await s.relations.threads(room, { limit: 10 }), []);
    assert.deepEqual(await s.relations.threadSummaries(room, [root.id], { userId: '@x:test', ignored: [], latest: 1 }), new Map());
    await persist(room, reply, 'accepted', group);
    const listed = await s.relations.threads(room, { limit: 10 });
    assert.deepEqual(listed.map((t) => t.rootId), [root.id]);
    const summary = (await s.relations.threadSummaries(room, [root.id], { userId: reply.pdu.sender, ignored: [], latest: 1 })).get(root.id);
    assert.deepEqual(summary, { count: 1, participated: true, latest: [reply.id] });
    const related = await s.relations.related(room, root.id, { levels: 1, order: 'asc', limit: 10 });
    assert.deepEqual(related.map((r) => r.eventId), [reply.id], 'a rich reply is not a relation');
  });
});

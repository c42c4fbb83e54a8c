/** GET /rooms/{roomId}/messages through the HTTP API: paging, bounds, filters, visibility, redactions and ignored users. */
import assert from 'node:assert/strict';
import { createRoom, join, send } from './helpers/rooms';
import { createUser, expectError, freshDatabase, startServer, type TestServer, type TestUser } from './helpers/server';
import { bodies, getMessages, ids, ignore, invite, leave, messages, pageAll, redact, setState } from './helpers/timeline';

const MESSAGES = 55;

describe('GET /messages', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  /** Every event of the room, oldest first. */
  let all: any[];
  const body = (i: number) => `m${i}`;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    roomId = await createRoom(server, alice, { preset: 'public_chat' });
    for (let i = 0; i < MESSAGES; i++) await send(server, alice, roomId, { msgtype: 'm.text', body: body(i) });
    all = (await messages(server, alice, roomId, { dir: 'f', limit: 1000 })).chunk;
  });
  after(() => server.stop());

  const range = (from: number, to: number) => {
    const out: string[] = [];
    for (let i = from; from <= to ? i <= to : i >= to; from <= to ? i++ : i--) out.push(body(i));
    return out;
  };

  it('gives the whole room forwards from its start: the creation events, then the messages in order', async () => {
    assert.equal(all[0].type, 'm.room.create');
    assert.deepEqual(bodies(all), range(0, MESSAGES - 1));
    assert.ok(all.slice(0, all.length - MESSAGES).every((e) => e.state_key !== undefined));
    assert.equal(new Set(ids(all)).size, all.length);
    assert.ok(all.every((e) => e.room_id === roomId));
  });

  it('pages backwards from the end, 10 at a time, through every event', async () => {
    const first = await messages(server, alice, roomId, { dir: 'b', limit: 10 });
    assert.deepEqual(bodies(first.chunk), range(54, 45));
    assert.equal(typeof first.start, 'string');
    assert.equal(typeof first.end, 'string');
    const second = await messages(server, alice, roomId, { dir: 'b', limit: 10, from: first.end });
    assert.equal(second.start, first.end);
    assert.deepEqual(bodies(second.chunk), range(44, 35));

    const { events, pages } = await pageAll(server, alice, roomId, { dir: 'b', limit: 10 });
    assert.deepEqual(ids(events), ids(all).reverse());
    assert.equal(pages, Math.floor(all.length / 10) + 1);
  });

  it('pages forwards from the start, 7 at a time, through every event', async () => {
    const { events } = await pageAll(server, alice, roomId, { dir: 'f', limit: 7 });
    assert.deepEqual(ids(events), ids(all));
  });

  it('leaves `end` out once history is exhausted', async () => {
    const last = await messages(server, alice, roomId, { dir: 'b', limit: all.length + 5 });
    assert.equal(last.chunk.length, all.length);
    assert.equal(last.end, undefined);
    const atStart = await messages(server, alice, roomId, { dir: 'f', limit: 3, from: 't0-0' });
    assert.deepEqual(ids(atStart.chunk), ids(all.slice(0, 3)));
    assert.equal(atStart.start, 't0-0');
  });

  it('turns around at a token: forwards from a backwards page end starts at that page last event', async () => {
    const page = await messages(server, alice, roomId, { dir: 'b', limit: 10 });
    const forwards = await messages(server, alice, roomId, { dir: 'f', limit: 3, from: page.end });
    assert.deepEqual(bodies(forwards.chunk), ['m45', 'm46', 'm47']);
    const back = await messages(server, alice, roomId, { dir: 'b', limit: 2, from: forwards.end });
    assert.deepEqual(bodies(back.chunk), ['m47', 'm46']);
  });

  it('stops at `to` in both directions and gives `to` back as `end`', async () => {
    const page = await messages(server, alice, roomId, { dir: 'b', limit: 10 });
    const bounded = await messages(server, alice, roomId, { dir: 'b', limit: 100, to: page.end });
    assert.deepEqual(bodies(bounded.chunk), range(54, 45));
    assert.equal(bounded.end, page.end);
    const forwards = await messages(server, alice, roomId, { dir: 'f', limit: 100, from: page.end, to: page.start });
    assert.deepEqual(bodies(forwards.chunk), range(45, 54));
    assert.equal(forwards.end, page.start);
    const partial = await messages(server, alice, roomId, { dir: 'f', limit: 4, from: page.end, to: page.start });
    assert.deepEqual(bodies(partial.chunk), range(45, 48));
    const rest = await messages(server, alice, roomId, { dir: 'f', limit: 100, from: partial.end, to: page.start });
    assert.deepEqual(bodies(rest.chunk), range(49, 54));
  });

  it('accepts stream tokens (as /sync gives) as `from`', async () => {
    const end = await messages(server, alice, roomId, { dir: 'b', limit: 3, from: 's999999999' });
    assert.deepEqual(bodies(end.chunk), range(54, 52));
    assert.equal(end.start, 's999999999');
    const withOtherStreams = await messages(server, alice, roomId, { dir: 'b', limit: 3, from: 's999999999_12_3' });
    assert.deepEqual(bodies(withOtherStreams.chunk), range(54, 52));
    const start = await messages(server, alice, roomId, { dir: 'f', limit: 1, from: 's0' });
    assert.equal(start.chunk[0].type, 'm.room.create');
  });

  it('defaults the limit to 10 and takes the smaller of `limit` and the filter limit', async () => {
    assert.equal((await messages(server, alice, roomId, { dir: 'b' })).chunk.length, 10);
    assert.equal((await messages(server, alice, roomId, { dir: 'b', filter: { limit: 3 } })).chunk.length, 3);
    assert.equal((await messages(server, alice, roomId, { dir: 'b', limit: 2, filter: { limit: 3 } })).chunk.length, 2);
    assert.equal((await messages(server, alice, roomId, { dir: 'b', limit: 0 })).chunk.length, 0);
  });

  it('starts from the start (dir=f) or the end (dir=b) without `from`', async () => {
    assert.equal((await messages(server, alice, roomId, { dir: 'f', limit: 1 })).chunk[0].type, 'm.room.create');
    assert.deepEqual(bodies((await messages(server, alice, roomId, { dir: 'b', limit: 1 })).chunk), ['m54']);
  });

  it('refuses bad parameters with 400', async () => {
    expectError(await getMessages(server, alice, roomId, {}), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'x' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', from: 'nonsense' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', from: 't1' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', to: 'x1-2' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', from: 't99999999999999999-1' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', limit: -1 }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', limit: 'ten' }), 400, 'M_INVALID_PARAM');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', filter: '{nope' }), 400, 'M_NOT_JSON');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', filter: { types: 'm.room.message' } }), 400, 'M_BAD_JSON');
    expectError(await getMessages(server, alice, roomId, { dir: 'b', filter: { limit: 0 } }), 400, 'M_INVALID_PARAM');
  });

  describe('filters', () => {
    let room: string;
    before(async () => {
      room = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, room);
      await send(server, alice, room, { msgtype: 'm.text', body: 'alice text' });
      await send(server, bob, room, { msgtype: 'm.text', body: 'bob text' });
      await send(server, alice, room, { msgtype: 'm.image', body: 'picture', url: 'mxc://localhost/abc' });
      await send(server, bob, room, { value: 1 }, 'org.example.custom');
    });

    const types = async (filter: object) => (await messages(server, alice, room, { dir: 'f', limit: 100, filter })).chunk.map((e: any) => e.content.body ?? e.type);

    it('by types and not_types, with wildcards', async () => {
      assert.deepEqual(await types({ types: ['m.room.message'] }), ['alice text', 'bob text', 'picture']);
      assert.deepEqual(await types({ types: ['org.example.*'] }), ['org.example.custom']);
      const others = await types({ not_types: ['m.room.*'] });
      assert.deepEqual(others, ['org.example.custom']);
      assert.deepEqual(await types({ types: ['m.room.message'], not_types: ['m.room.message'] }), []);
    });

    it('by senders and not_senders', async () => {
      const fromBob = (await messages(server, alice, room, { dir: 'f', limit: 100, filter: { senders: [bob.userId] } })).chunk;
      assert.ok(fromBob.every((e: any) => e.sender === bob.userId));
      assert.deepEqual(fromBob.map((e: any) => e.type), ['m.room.member', 'm.room.message', 'org.example.custom']);
      const notAlice = (await messages(server, alice, room, { dir: 'f', limit: 100, filter: { not_senders: [alice.userId] } })).chunk;
      assert.deepEqual(ids(notAlice), ids(fromBob));
    });

    it('by contains_url', async () => {
      assert.deepEqual(await types({ contains_url: true }), ['picture']);
      const withoutUrl = await types({ contains_url: false, types: ['m.room.message'] });
      assert.deepEqual(withoutUrl, ['alice text', 'bob text']);
    });

    it('keeps paging past events the filter drops', async () => {
      const page = await messages(server, alice, room, { dir: 'b', limit: 2, filter: { types: ['m.room.message'], senders: [alice.userId] } });
      assert.deepEqual(bodies(page.chunk), ['picture', 'alice text']);
      const next = await messages(server, alice, room, { dir: 'b', limit: 2, from: page.end, filter: { types: ['m.room.message'], senders: [alice.userId] } });
      assert.deepEqual(next.chunk, []);
      assert.equal(next.end, undefined);
    });

    it('lazy-loads the members of the chunk senders into `state`', async () => {
      await join(server, carol, room);
      const lazy = await messages(server, alice, room, { dir: 'b', limit: 2, filter: { lazy_load_members: true, types: ['m.room.message'] } });
      assert.deepEqual(bodies(lazy.chunk), ['picture', 'bob text']);
      assert.deepEqual(lazy.state.map((e: any) => [e.type, e.state_key, e.content.membership]).sort(), [
        ['m.room.member', alice.userId, 'join'],
        ['m.room.member', bob.userId, 'join'],
      ]);
      const plain = await messages(server, alice, room, { dir: 'b', limit: 2, filter: { types: ['m.room.message'] } });
      assert.equal(plain.state, undefined);
    });
  });

  describe('history visibility', () => {
    it('hides what came after a former member left, in both directions', async () => {
      const room = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, room);
      await send(server, alice, room, { msgtype: 'm.text', body: 'before leaving' });
      await leave(server, bob, room);
      await send(server, alice, room, { msgtype: 'm.text', body: 'after leaving 1' });
      await send(server, alice, room, { msgtype: 'm.text', body: 'after leaving 2' });

      const backwards = await pageAll(server, bob, room, { dir: 'b', limit: 2 });
      assert.deepEqual(bodies(backwards.events), ['before leaving']);
      assert.equal(backwards.events[0].type, 'm.room.member');
      assert.equal(backwards.events[0].state_key, bob.userId);
      assert.equal(backwards.events[0].content.membership, 'leave');
      const forwards = await pageAll(server, bob, room, { dir: 'f', limit: 3 });
      assert.deepEqual(ids(forwards.events), ids(backwards.events).reverse());

      const alicesEnd = (await messages(server, alice, room, { dir: 'b', limit: 1 })).start;
      const fromLater = await messages(server, bob, room, { dir: 'b', limit: 10, from: alicesEnd });
      assert.deepEqual(bodies(fromLater.chunk), ['before leaving']);
      assert.equal(bodies((await messages(server, alice, room, { dir: 'b', limit: 1 })).chunk)[0], 'after leaving 2');
    });

    it('refuses a user never joined to a shared room, and unknown rooms, with 403', async () => {
      const room = await createRoom(server, alice, { preset: 'public_chat' });
      await send(server, alice, room, { msgtype: 'm.text', body: 'members only' });
      expectError(await getMessages(server, carol, room, { dir: 'b' }), 403, 'M_FORBIDDEN');
      await invite(server, alice, room, carol);
      expectError(await getMessages(server, carol, room, { dir: 'b' }), 403, 'M_FORBIDDEN');
      expectError(await getMessages(server, carol, '!unknown:localhost', { dir: 'b' }), 403, 'M_FORBIDDEN');
    });

    it('`joined`: hides what came before the user joined', async () => {
      const room = await createRoom(server, alice, { preset: 'public_chat' });
      await setState(server, alice, room, 'm.room.history_visibility', { history_visibility: 'joined' });
      await send(server, alice, room, { msgtype: 'm.text', body: 'before bob' });
      await join(server, bob, room);
      await send(server, alice, room, { msgtype: 'm.text', body: 'after bob' });
      const { events } = await pageAll(server, bob, room, { dir: 'b', limit: 3 });
      assert.deepEqual(bodies(events), ['after bob']);
      // Everything up to the change to `joined` was `shared`, which a later member sees.
      const everything = (await pageAll(server, alice, room, { dir: 'b', limit: 3 })).events;
      assert.deepEqual(bodies(everything), ['after bob', 'before bob']);
      assert.deepEqual(ids(events), ids(everything.filter((e) => e.content.body !== 'before bob')));
    });

    it('`shared`: shows history from before the join to a member', async () => {
      const room = await createRoom(server, alice, { preset: 'public_chat' });
      await send(server, alice, room, { msgtype: 'm.text', body: 'before bob' });
      await join(server, bob, room);
      assert.deepEqual(bodies((await pageAll(server, bob, room, { dir: 'b', limit: 3 })).events), ['before bob']);
    });

    it('`world_readable`: shows the room to a non-member', async () => {
      const room = await createRoom(server, alice, { preset: 'public_chat' });
      await setState(server, alice, room, 'm.room.history_visibility', { history_visibility: 'world_readable' });
      await send(server, alice, room, { msgtype: 'm.text', body: 'for everyone' });
      const page = await messages(server, carol, room, { dir: 'b', limit: 5 });
      assert.deepEqual(bodies(page.chunk), ['for everyone']);
    });
  });

  it('serves redacted events redacted', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    const eventId = await send(server, alice, room, { msgtype: 'm.text', body: 'oops' });
    const redaction = await redact(server, alice, room, eventId);
    const page = await messages(server, alice, room, { dir: 'b', limit: 2 });
    assert.deepEqual(ids(page.chunk), [redaction, eventId]);
    assert.deepEqual(page.chunk[1].content, {});
    assert.equal(page.chunk[1].unsigned.redacted_because.event_id, redaction);
    assert.equal(page.chunk[0].redacts, eventId);
  });

  it('hides the non-state events of ignored users, not their state events', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, room);
    await join(server, carol, room);
    await send(server, carol, room, { msgtype: 'm.text', body: 'from carol' });
    await send(server, alice, room, { msgtype: 'm.text', body: 'from alice' });
    await ignore(server, bob, [carol]);
    const seen = (await messages(server, bob, room, { dir: 'b', limit: 4 })).chunk;
    assert.deepEqual(bodies(seen), ['from alice']);
    assert.ok(seen.some((e: any) => e.type === 'm.room.member' && e.state_key === carol.userId));
    assert.deepEqual(bodies((await messages(server, alice, room, { dir: 'b', limit: 4 })).chunk), ['from alice', 'from carol']);
    await ignore(server, bob, []);
    assert.deepEqual(bodies((await messages(server, bob, room, { dir: 'b', limit: 4 })).chunk), ['from alice', 'from carol']);
  });
});

describe('GET /messages tokens across a restart', () => {
  it('accepts a token handed out before the restart', async () => {
    const database = freshDatabase();
    let server = await startServer({}, database);
    const alice = await createUser(server, 'alice');
    const roomId = await createRoom(server, alice);
    for (let i = 0; i < 5; i++) await send(server, alice, roomId, { msgtype: 'm.text', body: `r${i}` });
    const page = await messages(server, alice, roomId, { dir: 'b', limit: 2 });
    await server.stop({ drop: false });
    server = await startServer({}, database);
    try {
      const token = (await server.hs.services.accounts.startSession(alice.userId, {})).access_token;
      const next = await messages(server, { ...alice, accessToken: token }, roomId, { dir: 'b', limit: 2, from: page.end });
      assert.deepEqual(bodies(next.chunk), ['r2', 'r1']);
    } finally {
      await server.stop();
    }
  });
});

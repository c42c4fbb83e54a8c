/** GET /rooms/{roomId}/context/{eventId} through the HTTP API. */
import assert from 'node:assert/strict';
import { createRoom, join, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';
import { bodies, context, ids, ignore, leave, messages, redact, setState } from './helpers/timeline';

describe('GET /context', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  const eventIds: string[] = [];

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    roomId = await createRoom(server, alice, { preset: 'public_chat' });
    for (let i = 0; i < 21; i++) eventIds.push(await send(server, alice, roomId, { msgtype: 'm.text', body: `c${i}` }));
  });
  after(() => server.stop());

  const ok = async (user: TestUser, room: string, eventId: string, query = {}) => {
    const res = await context(server, user, room, eventId, query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  it('splits the limit between the events before (newest first) and after (oldest first)', async () => {
    const res = await ok(alice, roomId, eventIds[10], { limit: 6 });
    assert.equal(res.event.event_id, eventIds[10]);
    assert.equal(res.event.content.body, 'c10');
    assert.deepEqual(bodies(res.events_before), ['c9', 'c8', 'c7']);
    assert.deepEqual(bodies(res.events_after), ['c11', 'c12', 'c13']);
    const odd = await ok(alice, roomId, eventIds[10], { limit: 5 });
    assert.deepEqual(bodies(odd.events_before), ['c9', 'c8']);
    assert.deepEqual(bodies(odd.events_after), ['c11', 'c12', 'c13']);
    const byDefault = await ok(alice, roomId, eventIds[10]);
    assert.equal(byDefault.events_before.length, 5);
    assert.equal(byDefault.events_after.length, 5);
    const none = await ok(alice, roomId, eventIds[10], { limit: 0 });
    assert.deepEqual([none.events_before, none.events_after, none.event.event_id], [[], [], eventIds[10]]);
  });

  it('gives tokens that continue with /messages on either side', async () => {
    const res = await ok(alice, roomId, eventIds[10], { limit: 4 });
    const earlier = await messages(server, alice, roomId, { dir: 'b', limit: 3, from: res.start });
    assert.deepEqual(bodies(earlier.chunk), ['c7', 'c6', 'c5']);
    const later = await messages(server, alice, roomId, { dir: 'f', limit: 3, from: res.end });
    assert.deepEqual(bodies(later.chunk), ['c13', 'c14', 'c15']);
    const last = await ok(alice, roomId, eventIds[20], { limit: 4 });
    assert.deepEqual(last.events_after, []);
    const beyond = await messages(server, alice, roomId, { dir: 'f', limit: 3, from: last.end });
    assert.deepEqual([beyond.chunk, beyond.end], [[], undefined]);
  });

  it('gives the state at the last event returned, filtered, and lazy-loaded', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat', name: 'Context' });
    await join(server, bob, room);
    await join(server, carol, room);
    const first = await send(server, bob, room, { msgtype: 'm.text', body: 'bob 1' });
    await send(server, alice, room, { msgtype: 'm.text', body: 'alice 1' });
    await setState(server, alice, room, 'm.room.topic', { topic: 'later' });

    const full = await ok(alice, room, first, { limit: 1 });
    assert.deepEqual(bodies(full.events_after), ['alice 1']);
    const types = full.state.map((e: any) => `${e.type}|${e.state_key}`).sort();
    assert.ok(types.includes('m.room.name|'));
    assert.ok(!types.includes('m.room.topic|'), 'the topic came after the last event returned');
    assert.deepEqual(types.filter((t: string) => t.startsWith('m.room.member')).sort(), [alice, bob, carol].map((u) => `m.room.member|${u.userId}`).sort());

    const lazy = await ok(alice, room, first, { limit: 1, filter: { lazy_load_members: true } });
    assert.deepEqual([lazy.events_before, bodies(lazy.events_after)], [[], ['alice 1']]);
    const members = lazy.state.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
    assert.deepEqual(members, [alice.userId, bob.userId].sort());
    assert.ok(lazy.state.some((e: any) => e.type === 'm.room.name'));

    const onlyTopics = await ok(alice, room, first, { limit: 2, filter: { types: ['m.room.topic'] } });
    assert.equal(onlyTopics.event.event_id, first, 'the filter does not apply to the event itself');
    assert.deepEqual(onlyTopics.events_before, []);
    assert.deepEqual(onlyTopics.events_after.map((e: any) => e.content.topic), ['later']);
    assert.deepEqual(onlyTopics.state.map((e: any) => e.content.topic), ['later']);
    const atTheEvent = await ok(alice, room, first, { limit: 0, filter: { types: ['m.room.topic'] } });
    assert.deepEqual([atTheEvent.events_after, atTheEvent.state], [[], []]);
  });

  it('answers 404 for an unknown event, one in another room, and one the user may not see', async () => {
    expectError(await context(server, alice, roomId, '$unknown'), 404, 'M_NOT_FOUND');
    const other = await createRoom(server, alice);
    const elsewhere = await send(server, alice, other, { msgtype: 'm.text', body: 'elsewhere' });
    expectError(await context(server, alice, roomId, elsewhere), 404, 'M_NOT_FOUND');

    const room = await createRoom(server, alice, { preset: 'public_chat' });
    await setState(server, alice, room, 'm.room.history_visibility', { history_visibility: 'joined' });
    const hidden = await send(server, alice, room, { msgtype: 'm.text', body: 'before bob' });
    await join(server, bob, room);
    expectError(await context(server, bob, room, hidden), 404, 'M_NOT_FOUND');
    assert.equal((await context(server, alice, room, hidden)).status, 200);
  });

  it('refuses users who may not read the room with 403', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    const eventId = await send(server, alice, room, { msgtype: 'm.text', body: 'members only' });
    expectError(await context(server, carol, room, eventId), 403, 'M_FORBIDDEN');
    expectError(await context(server, carol, '!unknown:localhost', eventId), 403, 'M_FORBIDDEN');
  });

  it('shows a former member nothing after their leave', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, room);
    const before = await send(server, alice, room, { msgtype: 'm.text', body: 'before leaving' });
    await leave(server, bob, room);
    const after = await send(server, alice, room, { msgtype: 'm.text', body: 'after leaving' });
    expectError(await context(server, bob, room, after), 404, 'M_NOT_FOUND');
    const res = await ok(bob, room, before, { limit: 10 });
    assert.equal(res.events_after.length, 1);
    assert.equal(res.events_after[0].state_key, bob.userId);
    assert.equal(res.events_after[0].content.membership, 'leave');
    assert.ok(!res.state.some((e: any) => e.event_id === after));
  });

  it('shows a world-readable room to a non-member', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    await setState(server, alice, room, 'm.room.history_visibility', { history_visibility: 'world_readable' });
    const eventId = await send(server, alice, room, { msgtype: 'm.text', body: 'open' });
    const res = await ok(carol, room, eventId);
    assert.equal(res.event.content.body, 'open');
  });

  it('serves redacted events redacted, as the event and around it', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    const target = await send(server, alice, room, { msgtype: 'm.text', body: 'oops' });
    const next = await send(server, alice, room, { msgtype: 'm.text', body: 'next' });
    const redaction = await redact(server, alice, room, target);
    const res = await ok(alice, room, target, { limit: 4 });
    assert.deepEqual(res.event.content, {});
    assert.equal(res.event.unsigned.redacted_because.event_id, redaction);
    const around = await ok(alice, room, next, { limit: 4 });
    assert.deepEqual(ids(around.events_before).slice(0, 1), [target]);
    assert.deepEqual(around.events_before[0].content, {});
  });

  it('hides ignored users: around the event, and the event itself', async () => {
    const room = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, room);
    await join(server, carol, room);
    const a1 = await send(server, alice, room, { msgtype: 'm.text', body: 'a1' });
    const fromCarol = await send(server, carol, room, { msgtype: 'm.text', body: 'carol' });
    await send(server, alice, room, { msgtype: 'm.text', body: 'a2' });
    await ignore(server, bob, [carol]);
    const res = await ok(bob, room, a1, { limit: 4 });
    assert.deepEqual(bodies(res.events_after), ['a2']);
    expectError(await context(server, bob, room, fromCarol), 404, 'M_NOT_FOUND');
    assert.deepEqual(bodies((await ok(alice, room, a1, { limit: 4 })).events_after), ['carol', 'a2']);
  });

  it('refuses bad parameters with 400', async () => {
    expectError(await context(server, alice, roomId, eventIds[0], { limit: -1 }), 400, 'M_INVALID_PARAM');
    expectError(await context(server, alice, roomId, eventIds[0], { limit: 'x' }), 400, 'M_INVALID_PARAM');
    expectError(await context(server, alice, roomId, eventIds[0], { filter: 'nope' }), 400, 'M_NOT_JSON');
  });
});

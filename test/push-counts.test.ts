/**
 * Push rule evaluation as /sync's unread counts show it: the predefined rules,
 * user rules, ignored users, and who is never counted (the sender).
 */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const text = (body: string, extra: Record<string, unknown> = {}) => ({ msgtype: 'm.text', body, ...extra });

describe('push: unread counts from the push rules', () => {
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

  /**
   * A room of alice (the creator, power 100) and `members`. Alice's public
   * receipt puts the room in every member's sync response, whatever else it holds.
   */
  async function room(...members: TestUser[]): Promise<string> {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    for (const member of members) await join(server, member, roomId);
    const first = await send(server, alice, roomId, text('welcome'));
    const res = await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(first)}`), { token: alice.accessToken, body: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return roomId;
  }

  /** The user's unread counts of the room in an initial /sync. */
  async function counts(user: TestUser, roomId: string): Promise<{ notification_count: number; highlight_count: number }> {
    const res = await server.request('GET', `${V3}/sync`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const joined = res.body.rooms?.join?.[roomId];
    assert.ok(joined, `room ${roomId} not in the sync response`);
    return joined.unread_notifications;
  }

  const count = (n: number, h = 0) => ({ notification_count: n, highlight_count: h });

  it('counts a message in a group room and in a one-to-one room, never for the sender', async () => {
    const group = await room(bob, carol);
    const oneToOne = await room(bob);
    assert.deepEqual(await counts(bob, group), count(1), 'the welcome message');
    await send(server, carol, group, text('hello'));
    await send(server, bob, oneToOne, text('hi alice'));
    assert.deepEqual(await counts(bob, group), count(2));
    assert.deepEqual(await counts(bob, oneToOne), count(1), 'own messages never count');
    assert.deepEqual(await counts(alice, oneToOne), count(1));
    assert.deepEqual(await counts(alice, group), count(1), 'carol hello; not alice own welcome');
  });

  it('highlights a mention of the user, and a room mention from a sender with the power to', async () => {
    const roomId = await room(bob, carol);
    await send(server, carol, roomId, text('bob!', { 'm.mentions': { user_ids: [bob.userId] } }));
    assert.deepEqual(await counts(bob, roomId), count(2, 1));
    assert.deepEqual(await counts(alice, roomId), count(1, 0), 'a mention of someone else is a plain message');
    await send(server, carol, roomId, text('everyone!', { 'm.mentions': { room: true } }));
    assert.deepEqual(await counts(bob, roomId), count(3, 1), 'carol (power 0) may not notify the room');
    await send(server, alice, roomId, text('everyone!', { 'm.mentions': { room: true } }));
    assert.deepEqual(await counts(bob, roomId), count(4, 2), 'alice (power 100) may');
  });

  it('suppresses notices, reactions and edits, and counts nothing for state changes', async () => {
    const roomId = await room(bob);
    const target = await send(server, bob, roomId, text('bob says'));
    await send(server, alice, roomId, { msgtype: 'm.notice', body: 'a bot speaks' });
    await send(server, alice, roomId, { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } }, 'm.reaction');
    const own = await send(server, alice, roomId, text('typo'));
    await send(server, alice, roomId, { ...text('* fixed'), 'm.new_content': text('fixed'), 'm.relates_to': { rel_type: 'm.replace', event_id: own } });
    const topic = await server.request('PUT', roomPath(roomId, '/state/m.room.topic'), { token: alice.accessToken, body: { topic: 'news' } });
    assert.equal(topic.status, 200);
    assert.deepEqual(await counts(bob, roomId), count(2), 'the welcome and the typo');
  });

  it('counts calls and encrypted events', async () => {
    const roomId = await room(bob, carol);
    await send(server, alice, roomId, { call_id: 'c', version: '1', lifetime: 60000, offer: { type: 'offer', sdp: 'x' } }, 'm.call.invite');
    await send(server, alice, roomId, { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' }, 'm.room.encrypted');
    assert.deepEqual(await counts(bob, roomId), count(3));
  });

  it('obeys the user rules: a muted room, a sender rule, a content rule', async () => {
    const user = await createUser(server, 'picky');
    const muted = await room(user);
    const other = await room(user, carol);
    const rule = (kind: string, id: string, body: unknown) =>
      server.request('PUT', `${V3}/pushrules/global/${kind}/${enc(id)}`, { token: user.accessToken, body });
    assert.equal((await rule('room', muted, { actions: [] })).status, 200);
    assert.equal((await rule('sender', carol.userId, { actions: ['notify', { set_tweak: 'highlight' }] })).status, 200);
    assert.equal((await rule('content', 'tea', { pattern: 'tea', actions: ['notify', { set_tweak: 'highlight' }] })).status, 200);
    await send(server, alice, muted, text('ignored'));
    await send(server, carol, other, text('carol'));
    await send(server, alice, other, text('time for TEA'));
    await send(server, alice, other, text('teapot'));
    assert.deepEqual(await counts(user, muted), count(1), 'only the welcome, sent before the rule');
    assert.deepEqual(await counts(user, other), count(4, 2));
  });

  it('never counts events from a user the member ignores', async () => {
    const user = await createUser(server, 'ignorer');
    const roomId = await room(user, carol);
    const ignore = await server.request('PUT', `${V3}/user/${enc(user.userId)}/account_data/m.ignored_user_list`, {
      token: user.accessToken,
      body: { ignored_users: { [carol.userId]: {} } },
    });
    assert.equal(ignore.status, 200);
    await send(server, carol, roomId, text('you cannot hear me', { 'm.mentions': { user_ids: [user.userId] } }));
    await send(server, alice, roomId, text('but you hear me'));
    assert.deepEqual(await counts(user, roomId), count(2));
    assert.deepEqual(await counts(bob, await room(bob)), count(1), 'other users are unaffected');
  });

  it('follows the room state: power levels, leaves, and the display name in the room', async () => {
    const named = await createUser(server, 'named');
    const setName = await server.request('PUT', `${V3}/profile/${enc(named.userId)}/displayname`, { token: named.accessToken, body: { displayname: 'Wonderland' } });
    assert.equal(setName.status, 200);
    const roomId = await createRoom(server, named, { preset: 'public_chat' });
    for (const member of [alice, bob, carol]) await join(server, member, roomId);
    await send(server, alice, roomId, text('start'));
    assert.equal((await server.request('POST', roomPath(roomId, `/receipt/m.read/${enc(await send(server, named, roomId, text('hi')))}`), { token: named.accessToken, body: {} })).status, 200);
    const rule = await server.request('PUT', `${V3}/pushrules/global/override/by-name`, {
      token: named.accessToken,
      body: { conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] },
    });
    assert.equal(rule.status, 200);
    await send(server, bob, roomId, text('hello wonderland!'));
    assert.deepEqual(await counts(named, roomId), count(1, 1), "named's display name in the room, from the join event");

    await send(server, bob, roomId, text('everyone', { 'm.mentions': { room: true } }));
    assert.deepEqual(await counts(carol, roomId), count(4, 0), 'start, hi, hello, everyone: bob may not notify the room yet');
    const levels = await server.request('GET', roomPath(roomId, '/state/m.room.power_levels'), { token: named.accessToken });
    const raised = await server.request('PUT', roomPath(roomId, '/state/m.room.power_levels'), {
      token: named.accessToken,
      body: { ...levels.body, users: { ...levels.body.users, [bob.userId]: 50 } },
    });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    await send(server, bob, roomId, text('everyone', { 'm.mentions': { room: true } }));
    assert.deepEqual(await counts(carol, roomId), count(5, 1), 'now bob may');

    const leave = await server.request('POST', roomPath(roomId, '/leave'), { token: carol.accessToken, body: {} });
    assert.equal(leave.status, 200);
    await send(server, bob, roomId, text('carol is gone'));
    const notifications = await server.request('GET', `${V3}/notifications?limit=1`, { token: carol.accessToken });
    assert.notEqual(notifications.body.notifications[0].event.content.body, 'carol is gone');
    assert.deepEqual(await counts(alice, roomId), count(5, 1), 'hi, hello, both room mentions, and carol is gone');
    await join(server, carol, roomId);
    await send(server, bob, roomId, text('welcome back'));
    assert.deepEqual(await counts(carol, roomId), count(1), 'what was unread when she left is not');
  });

  it('counts for members joined at the event only', async () => {
    const roomId = await room(bob);
    await send(server, alice, roomId, text('before carol'));
    await join(server, carol, roomId);
    await send(server, alice, roomId, text('after carol'));
    await send(server, bob, roomId, text('hello carol'));
    assert.deepEqual(await counts(carol, roomId), count(2), 'neither the messages before she joined nor her own join');
  });
});

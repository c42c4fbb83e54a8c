/** GET /notifications: what the user was notified about, newest first, paged. */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const text = (body: string, extra: Record<string, unknown> = {}) => ({ msgtype: 'm.text', body, ...extra });

describe('GET /notifications', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  /** Alice's events in the group room, oldest first: every other one mentions bob. */
  const sent: string[] = [];

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Group' });
    await join(server, bob, roomId);
    await join(server, carol, roomId);
    for (let i = 0; i < 5; i++) {
      sent.push(await send(server, alice, roomId, text(`message ${i}`, i % 2 === 0 ? { 'm.mentions': { user_ids: [bob.userId] } } : {})));
    }
    await send(server, bob, roomId, text('bob talks: never his own notification'));
  });
  after(() => server.stop());

  const list = async (user: TestUser, query = '') => {
    const res = await server.request('GET', `${V3}/notifications${query}`, { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  it('lists notifications newest first, with actions, the event, read, room_id and ts', async () => {
    const body = await list(bob);
    assert.deepEqual(body.notifications.map((n: any) => n.event.event_id), [...sent].reverse());
    assert.equal(body.next_token, undefined, 'everything fit');
    const [newest] = body.notifications;
    assert.deepEqual(Object.keys(newest).sort(), ['actions', 'event', 'read', 'room_id', 'ts']);
    assert.deepEqual(newest.actions, ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }]);
    assert.equal(newest.read, false);
    assert.equal(newest.room_id, roomId);
    assert.ok(Number.isInteger(newest.ts) && newest.ts > 0);
    assert.equal(newest.event.type, 'm.room.message');
    assert.equal(newest.event.sender, alice.userId);
    assert.equal(newest.event.content.body, 'message 4');
    assert.equal(newest.event.room_id, undefined, 'the client format without room_id');
    assert.deepEqual(body.notifications[1].actions, ['notify']);
  });

  it('pages with limit and next_token', async () => {
    const first = await list(bob, '?limit=2');
    assert.deepEqual(first.notifications.map((n: any) => n.event.event_id), [sent[4], sent[3]]);
    assert.equal(typeof first.next_token, 'string');
    const second = await list(bob, `?limit=2&from=${enc(first.next_token)}`);
    assert.deepEqual(second.notifications.map((n: any) => n.event.event_id), [sent[2], sent[1]]);
    const third = await list(bob, `?limit=2&from=${enc(second.next_token)}`);
    assert.deepEqual(third.notifications.map((n: any) => n.event.event_id), [sent[0]]);
    assert.equal(third.next_token, undefined);
  });

  it('keeps only highlights with only=highlight', async () => {
    const body = await list(bob, '?only=highlight');
    assert.deepEqual(body.notifications.map((n: any) => n.event.event_id), [sent[4], sent[2], sent[0]]);
    const paged = await list(bob, '?only=highlight&limit=1');
    const next = await list(bob, `?only=highlight&limit=5&from=${enc(paged.next_token)}`);
    assert.deepEqual(next.notifications.map((n: any) => n.event.event_id), [sent[2], sent[0]]);
    assert.deepEqual((await list(carol, '?only=highlight')).notifications, [], 'carol was never mentioned');
  });

  it('marks notifications read once a receipt covers them', async () => {
    const res = await server.request('POST', roomPath(roomId, `/receipt/m.read.private/${enc(sent[2])}`), { token: carol.accessToken, body: {} });
    assert.equal(res.status, 200);
    const body = await list(carol);
    assert.deepEqual(body.notifications.map((n: any) => n.read), [false, false, false, true, true, true], "bob's message, then alice's 4 to 0");
    assert.ok((await list(bob)).notifications.every((n: any) => !n.read), "carol's receipt is hers");
  });

  it('shows redactions applied since', async () => {
    const redacted = await send(server, alice, roomId, text('regrettable'));
    const res = await server.request('PUT', roomPath(roomId, `/redact/${enc(redacted)}/r1`), { token: alice.accessToken, body: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [newest] = (await list(carol)).notifications;
    assert.equal(newest.event.event_id, redacted);
    assert.deepEqual(newest.event.content, {});
    assert.ok(newest.event.unsigned.redacted_because);
  });

  it('holds invites for the invitee until they join, and one-to-one rooms with their sound', async () => {
    const dave = await createUser(server, 'dave');
    const direct = await createRoom(server, alice, { preset: 'private_chat', invite: [dave.userId] });
    const [invite] = (await list(dave)).notifications;
    assert.equal(invite.room_id, direct);
    assert.equal(invite.event.type, 'm.room.member');
    assert.equal(invite.event.state_key, dave.userId);
    assert.deepEqual(invite.actions, ['notify', { set_tweak: 'sound', value: 'default' }]);
    assert.equal(invite.read, false);
    await join(server, dave, direct);
    await send(server, alice, direct, text('just us'));
    const [message, answered] = (await list(dave)).notifications;
    assert.equal(answered.event.event_id, invite.event.event_id);
    assert.equal(answered.read, true, 'joining answers the invite');
    assert.equal(message.event.content.body, 'just us');
    assert.deepEqual(message.actions, ['notify', { set_tweak: 'sound', value: 'default' }], '.m.rule.room_one_to_one');
  });

  it('refuses bad parameters and missing tokens', async () => {
    for (const query of ['?from=abc', '?from=-1', '?limit=0', '?limit=x']) {
      expectError(await server.request('GET', `${V3}/notifications${query}`, { token: bob.accessToken }), 400, 'M_INVALID_PARAM');
    }
    expectError(await server.request('GET', `${V3}/notifications`), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('GET', `${V3}/notifications`, { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
  });
});

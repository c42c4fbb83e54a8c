/** Reporting events, rooms and users (report_content.yaml), and forgetting rooms (POST /rooms/{roomId}/forget). */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('reporting content', () => {
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

  const latestReport = async () => (await server.hs.services.stores.reports.recent(1))[0];
  const reportEvent = (user: TestUser | undefined, roomId: string, eventId: string, body: unknown) =>
    server.request('POST', roomPath(roomId, `/report/${enc(eventId)}`), { token: user?.accessToken, body });

  it('stores an event report from a member who can see the event', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    const eventId = await send(server, alice, roomId, { msgtype: 'm.text', body: 'rude' });
    const res = await reportEvent(bob, roomId, eventId, { reason: 'this makes me sad', score: -100 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
    const report = await latestReport();
    assert.deepEqual({ ...report, id: 0, createdTs: 0 }, { id: 0, createdTs: 0, reporter: bob.userId, roomId, eventId, reason: 'this makes me sad', score: -100 });

    assert.equal((await reportEvent(bob, roomId, eventId, {})).status, 200, 'reason and score are optional');
    assert.deepEqual({ ...(await latestReport()), id: 0, createdTs: 0 }, { id: 0, createdTs: 0, reporter: bob.userId, roomId, eventId });
  });

  it('answers 404 to non-members, for unknown events, events of other rooms and events the reporter cannot see', async () => {
    const roomId = await createRoom(server, alice, {
      preset: 'public_chat',
      initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }],
    });
    const before = await send(server, alice, roomId, { msgtype: 'm.text', body: 'before carol' });
    expectError(await reportEvent(carol, roomId, before, { reason: 'x' }), 404, 'M_NOT_FOUND');
    await join(server, carol, roomId);
    expectError(await reportEvent(carol, roomId, before, { reason: 'x' }), 404, 'M_NOT_FOUND');
    const after = await send(server, alice, roomId, { msgtype: 'm.text', body: 'after carol' });
    assert.equal((await reportEvent(carol, roomId, after, { reason: 'x' })).status, 200);

    const other = await createRoom(server, carol);
    expectError(await reportEvent(carol, other, after, { reason: 'x' }), 404, 'M_NOT_FOUND');
    expectError(await reportEvent(carol, roomId, '$unknown', { reason: 'x' }), 404, 'M_NOT_FOUND');
    expectError(await reportEvent(carol, '!unknown:localhost', after, { reason: 'x' }), 404, 'M_NOT_FOUND');

    assert.equal((await server.request('POST', roomPath(roomId, '/leave'), { token: carol.accessToken, body: {} })).status, 200);
    expectError(await reportEvent(carol, roomId, after, { reason: 'x' }), 404, 'M_NOT_FOUND');
  });

  it('refuses bad bodies with 400 and missing tokens with 401', async () => {
    const roomId = await createRoom(server, alice);
    const eventId = await send(server, alice, roomId, { msgtype: 'm.text', body: 'hi' });
    expectError(await reportEvent(alice, roomId, eventId, { score: 5 }), 400, 'M_INVALID_PARAM');
    expectError(await reportEvent(alice, roomId, eventId, { reason: 7 }), 400, 'M_BAD_JSON');
    expectError(await reportEvent(undefined, roomId, eventId, { reason: 'x' }), 401, 'M_MISSING_TOKEN');
  });

  it('stores room reports from anyone, joined or not', async () => {
    const roomId = await createRoom(server, alice);
    const res = await server.request('POST', roomPath(roomId, '/report'), { token: carol.accessToken, body: { reason: 'spam room' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual({ ...(await latestReport()), id: 0, createdTs: 0 }, { id: 0, createdTs: 0, reporter: carol.userId, roomId, reason: 'spam room' });
    assert.equal((await server.request('POST', roomPath(roomId, '/report'), { token: carol.accessToken, body: { reason: '' } })).status, 200);

    expectError(await server.request('POST', roomPath('!unknown:localhost', '/report'), { token: carol.accessToken, body: { reason: 'x' } }), 404, 'M_NOT_FOUND');
    expectError(await server.request('POST', roomPath(roomId, '/report'), { token: carol.accessToken, body: {} }), 400, 'M_MISSING_PARAM');
    expectError(await server.request('POST', roomPath(roomId, '/report'), { body: { reason: 'x' } }), 401, 'M_MISSING_TOKEN');
  });

  it('stores user reports about known local users and remote users', async () => {
    const report = (userId: string, body: unknown, token = carol.accessToken) =>
      server.request('POST', `${V3}/users/${enc(userId)}/report`, { token, body });
    const anonymous = (userId: string, body: unknown) => server.request('POST', `${V3}/users/${enc(userId)}/report`, { body });
    assert.equal((await report(alice.userId, { reason: 'harassment' })).status, 200);
    assert.deepEqual({ ...(await latestReport()), id: 0, createdTs: 0 }, { id: 0, createdTs: 0, reporter: carol.userId, userId: alice.userId, reason: 'harassment' });
    assert.equal((await report('@someone:other.example', { reason: 'spam' })).status, 200);

    expectError(await report('@nobody:localhost', { reason: 'x' }), 404, 'M_NOT_FOUND');
    expectError(await report('not-a-user', { reason: 'x' }), 400, 'M_INVALID_PARAM');
    expectError(await report(alice.userId, {}), 400, 'M_MISSING_PARAM');
    expectError(await anonymous(alice.userId, { reason: 'x' }), 401, 'M_MISSING_TOKEN');
  });
});

describe('forgetting rooms', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const forget = (user: TestUser | undefined, roomId: string) => server.request('POST', roomPath(roomId, '/forget'), { token: user?.accessToken, body: {} });
  const leave = async (user: TestUser, roomId: string) =>
    assert.equal((await server.request('POST', roomPath(roomId, '/leave'), { token: user.accessToken, body: {} })).status, 200);
  const isForgotten = (user: TestUser, roomId: string) => server.hs.services.stores.forgottenRooms.isForgotten(user.userId, roomId);

  it('refuses while the user is joined, invited or knocking', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    expectError(await forget(alice, roomId), 400, 'M_UNKNOWN');
    const invited = await createRoom(server, alice, { invite: [bob.userId] });
    expectError(await forget(bob, invited), 400, 'M_UNKNOWN');
    const knockable = await createRoom(server, alice, { initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
    assert.equal((await server.request('POST', `${V3}/knock/${enc(knockable)}`, { token: bob.accessToken, body: {} })).status, 200);
    expectError(await forget(bob, knockable), 400, 'M_UNKNOWN');
    assert.equal(await isForgotten(bob, knockable), false);
  });

  it('forgets a left room until the user joins again', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    await leave(bob, roomId);
    assert.equal(await isForgotten(bob, roomId), false);
    const res = await forget(bob, roomId);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
    assert.equal(await isForgotten(bob, roomId), true);
    assert.equal(await isForgotten(alice, roomId), false, 'only for the user who forgot');
    assert.ok((await server.hs.services.stores.forgottenRooms.roomsForgottenBy(bob.userId)).has(roomId));

    await join(server, bob, roomId);
    assert.equal(await isForgotten(bob, roomId), false);
    await leave(bob, roomId);
    assert.equal(await isForgotten(bob, roomId), false, 'leaving again does not forget again');
    assert.equal((await forget(bob, roomId)).status, 200);
    assert.equal(await isForgotten(bob, roomId), true);
  });

  it('forgets after a ban, and a room the user was never in; 404 for an unknown room; 401 without a token', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    assert.equal((await server.request('POST', roomPath(roomId, '/ban'), { token: alice.accessToken, body: { user_id: bob.userId } })).status, 200);
    assert.equal((await forget(bob, roomId)).status, 200);
    assert.equal(await isForgotten(bob, roomId), true);

    const never = await createRoom(server, alice);
    assert.equal((await forget(bob, never)).status, 200);
    assert.equal(await isForgotten(bob, never), true);
    const invite = await server.request('POST', roomPath(never, '/invite'), { token: alice.accessToken, body: { user_id: bob.userId } });
    assert.equal(invite.status, 200);
    assert.equal(await isForgotten(bob, never), false, 'a new invite brings the room back');

    expectError(await forget(bob, '!unknown:localhost'), 404, 'M_NOT_FOUND');
    expectError(await forget(undefined, roomId), 401, 'M_MISSING_TOKEN');
  });
});

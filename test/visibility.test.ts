/** History visibility through /event and /state: what former members, strangers and the world may read. */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

describe('history visibility on /event and /state', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    eve = await createUser(server, 'eve');
  });
  after(() => server.stop());

  const getEvent = (user: TestUser, roomId: string, eventId: string) =>
    server.request('GET', roomPath(roomId, `/event/${enc(eventId)}`), { token: user.accessToken });
  const setVisibility = async (roomId: string, history_visibility: string) => {
    const res = await server.request('PUT', roomPath(roomId, '/state/m.room.history_visibility'), { token: alice.accessToken, body: { history_visibility } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  it('a member who left sees what came before the leave, not after', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    const before = await send(server, alice, roomId, { msgtype: 'm.text', body: 'before' });
    assert.equal((await server.request('POST', roomPath(roomId, '/leave'), { token: bob.accessToken, body: {} })).status, 200);
    const afterLeave = await send(server, alice, roomId, { msgtype: 'm.text', body: 'after' });
    assert.equal((await getEvent(bob, roomId, before)).status, 200);
    expectError(await getEvent(bob, roomId, afterLeave), 404, 'M_NOT_FOUND');
    // The state a former member reads is the state at their leave.
    await server.request('PUT', roomPath(roomId, '/state/m.room.topic'), { token: alice.accessToken, body: { topic: 'later' } });
    expectError(await server.request('GET', roomPath(roomId, '/state/m.room.topic'), { token: bob.accessToken }), 404, 'M_NOT_FOUND');
  });

  it('a user who never joined a shared room reads nothing', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    const eventId = await send(server, alice, roomId, { msgtype: 'm.text', body: 'members only' });
    expectError(await getEvent(eve, roomId, eventId), 404, 'M_NOT_FOUND');
    expectError(await server.request('GET', roomPath(roomId, '/state'), { token: eve.accessToken }), 403, 'M_FORBIDDEN');
    expectError(await server.request('GET', roomPath(roomId, '/members'), { token: eve.accessToken }), 403, 'M_FORBIDDEN');
  });

  it('shared: joining later reveals earlier history; joined: it does not', async () => {
    const shared = await createRoom(server, alice, { preset: 'public_chat' });
    const early = await send(server, alice, shared, { msgtype: 'm.text', body: 'early' });
    await join(server, bob, shared);
    assert.equal((await getEvent(bob, shared, early)).status, 200);

    const joinedOnly = await createRoom(server, alice, { preset: 'public_chat' });
    await setVisibility(joinedOnly, 'joined');
    const hidden = await send(server, alice, joinedOnly, { msgtype: 'm.text', body: 'hidden' });
    await join(server, bob, joinedOnly);
    expectError(await getEvent(bob, joinedOnly, hidden), 404, 'M_NOT_FOUND');
    const seen = await send(server, alice, joinedOnly, { msgtype: 'm.text', body: 'seen' });
    assert.equal((await getEvent(bob, joinedOnly, seen)).status, 200);
  });

  it('invited: an invitee sees events from their invite on', async () => {
    const roomId = await createRoom(server, alice, { preset: 'private_chat' });
    await setVisibility(roomId, 'invited');
    const beforeInvite = await send(server, alice, roomId, { msgtype: 'm.text', body: 'before invite' });
    await server.request('POST', roomPath(roomId, '/invite'), { token: alice.accessToken, body: { user_id: eve.userId } });
    const afterInvite = await send(server, alice, roomId, { msgtype: 'm.text', body: 'after invite' });
    expectError(await getEvent(eve, roomId, beforeInvite), 404, 'M_NOT_FOUND');
    assert.equal((await getEvent(eve, roomId, afterInvite)).status, 200);
  });

  it('world_readable: anyone may read events and state', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await setVisibility(roomId, 'world_readable');
    const eventId = await send(server, alice, roomId, { msgtype: 'm.text', body: 'public' });
    assert.equal((await getEvent(eve, roomId, eventId)).status, 200);
    assert.equal((await server.request('GET', roomPath(roomId, '/state'), { token: eve.accessToken })).status, 200);
  });

  it('GET /members?at= answers with the membership at that token', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    const marker = await send(server, alice, roomId, { msgtype: 'm.text', body: 'marker' });
    const context = await server.request('GET', roomPath(roomId, `/context/${enc(marker)}?limit=0`), { token: alice.accessToken });
    assert.equal(context.status, 200, JSON.stringify(context.body));
    await join(server, bob, roomId);
    const members = async (query: string) => {
      const res = await server.request('GET', roomPath(roomId, `/members${query}`), { token: alice.accessToken });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.chunk.map((e: { state_key: string }) => e.state_key).sort();
    };
    assert.deepEqual(await members(''), [alice.userId, bob.userId]);
    assert.deepEqual(await members(`?at=${enc(context.body.end)}`), [alice.userId]);
    assert.deepEqual(await members(`?at=${enc(context.body.end)}&membership=leave`), []);
    expectError(await server.request('GET', roomPath(roomId, '/members?at=nonsense'), { token: alice.accessToken }), 400, 'M_INVALID_PARAM');
  });
});

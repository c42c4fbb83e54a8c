/** Creating rooms, sending events and state, reading them, and membership, through the HTTP API. */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

for (const version of ['12', '11', '1']) {
  describe(`rooms (room version ${version})`, () => {
    let server: TestServer;
    let alice: TestUser;
    let bob: TestUser;
    before(async () => {
      server = await startServer({ default_room_version: version });
      alice = await createUser(server, 'alice');
      bob = await createUser(server, 'bob');
    });
    after(() => server.stop());

    it('creates a room with the spec state, in order, and the creator joined', async () => {
      const roomId = await createRoom(server, alice, { name: 'Test', topic: 'About', preset: 'public_chat' });
      assert.match(roomId, version === '12' ? /^![A-Za-z0-9_-]{43}$/ : /^!.+:localhost$/);
      const state = await server.request('GET', roomPath(roomId, '/state'), { token: alice.accessToken });
      assert.equal(state.status, 200);
      const types = state.body.map((e: { type: string }) => e.type).sort();
      assert.deepEqual(types, [
        'm.room.create', 'm.room.guest_access', 'm.room.history_visibility', 'm.room.join_rules',
        'm.room.member', 'm.room.name', 'm.room.power_levels', 'm.room.topic',
      ]);
      const create = state.body.find((e: { type: string }) => e.type === 'm.room.create');
      assert.equal(create.content.room_version, version);
      assert.equal(create.sender, alice.userId);
      const joinRules = await server.request('GET', roomPath(roomId, '/state/m.room.join_rules'), { token: alice.accessToken });
      assert.deepEqual(joinRules.body, { join_rule: 'public' });
      const joined = await server.request('GET', `${V3}/joined_rooms`, { token: alice.accessToken });
      assert.ok(joined.body.joined_rooms.includes(roomId));
    });

    it('sends messages idempotently per transaction ID and serves them to members', async () => {
      const roomId = await createRoom(server, alice);
      const path = roomPath(roomId, '/send/m.room.message/txn-1');
      const first = await server.request('PUT', path, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'hi' } });
      const again = await server.request('PUT', path, { token: alice.accessToken, body: { msgtype: 'm.text', body: 'hi' } });
      assert.equal(first.status, 200);
      assert.equal(again.body.event_id, first.body.event_id);
      const event = await server.request('GET', roomPath(roomId, `/event/${enc(first.body.event_id)}`), { token: alice.accessToken });
      assert.equal(event.status, 200);
      assert.equal(event.body.content.body, 'hi');
      assert.equal(event.body.room_id, roomId);
      assert.equal(event.body.unsigned.transaction_id, 'txn-1');
    });

    it('refuses a non-member: sending 403, reading a shared room 404/403', async () => {
      const roomId = await createRoom(server, alice);
      const eventId = await send(server, alice, roomId, { msgtype: 'm.text', body: 'secret' });
      expectError(await server.request('PUT', roomPath(roomId, '/send/m.room.message/x1'), { token: bob.accessToken, body: { body: 'x' } }), 403, 'M_FORBIDDEN');
      expectError(await server.request('GET', roomPath(roomId, `/event/${enc(eventId)}`), { token: bob.accessToken }), 404, 'M_NOT_FOUND');
      expectError(await server.request('GET', roomPath(roomId, '/state'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
    });

    it('lets users join public rooms, not private ones unless invited, and leave', async () => {
      const publicRoom = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, publicRoom);
      const members = await server.request('GET', roomPath(publicRoom, '/joined_members'), { token: bob.accessToken });
      assert.deepEqual(Object.keys(members.body.joined).sort(), [alice.userId, bob.userId]);
      assert.equal(members.body.joined[alice.userId].display_name, 'alice');

      const privateRoom = await createRoom(server, alice, { preset: 'private_chat' });
      expectError(await server.request('POST', roomPath(privateRoom, '/join'), { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN');
      const invite = await server.request('POST', roomPath(privateRoom, '/invite'), { token: alice.accessToken, body: { user_id: bob.userId } });
      assert.equal(invite.status, 200, JSON.stringify(invite.body));
      await join(server, bob, privateRoom);
      assert.equal((await server.request('POST', roomPath(privateRoom, '/leave'), { token: bob.accessToken, body: {} })).status, 200);
      const joined = await server.request('GET', `${V3}/joined_rooms`, { token: bob.accessToken });
      assert.ok(!joined.body.joined_rooms.includes(privateRoom));
    });

    it('sets and reads state, and refuses state below the power level', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, roomId);
      const put = await server.request('PUT', roomPath(roomId, '/state/m.room.topic'), { token: alice.accessToken, body: { topic: 'new' } });
      assert.equal(put.status, 200);
      const same = await server.request('PUT', roomPath(roomId, '/state/m.room.topic'), { token: alice.accessToken, body: { topic: 'new' } });
      assert.equal(same.body.event_id, put.body.event_id, 're-sending identical state returns the existing event');
      const topic = await server.request('GET', roomPath(roomId, '/state/m.room.topic/'), { token: bob.accessToken });
      assert.deepEqual(topic.body, { topic: 'new' });
      expectError(await server.request('PUT', roomPath(roomId, '/state/m.room.name'), { token: bob.accessToken, body: { name: 'x' } }), 403, 'M_FORBIDDEN');
      expectError(await server.request('GET', roomPath(roomId, '/state/m.room.name'), { token: bob.accessToken }), 404, 'M_NOT_FOUND');
    });

    it('kicks, bans and unbans with power, refuses without', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, roomId);
      expectError(await server.request('POST', roomPath(roomId, '/kick'), { token: bob.accessToken, body: { user_id: alice.userId } }), 403, 'M_FORBIDDEN');
      assert.equal((await server.request('POST', roomPath(roomId, '/ban'), { token: alice.accessToken, body: { user_id: bob.userId, reason: 'spam' } })).status, 200);
      expectError(await server.request('POST', roomPath(roomId, '/join'), { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN');
      assert.equal((await server.request('POST', roomPath(roomId, '/unban'), { token: alice.accessToken, body: { user_id: bob.userId } })).status, 200);
      await join(server, bob, roomId);
    });

    it('redacts: the redacted event keeps only what the algorithm keeps, for everyone', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, roomId);
      const eventId = await send(server, bob, roomId, { msgtype: 'm.text', body: 'oops' });
      const redact = await server.request('PUT', roomPath(roomId, `/redact/${enc(eventId)}/r1`), { token: alice.accessToken, body: { reason: 'no' } });
      assert.equal(redact.status, 200, JSON.stringify(redact.body));
      for (const user of [alice, bob]) {
        const event = await server.request('GET', roomPath(roomId, `/event/${enc(eventId)}`), { token: user.accessToken });
        assert.deepEqual(event.body.content, {});
        assert.equal(event.body.unsigned.redacted_because.event_id, redact.body.event_id);
        assert.equal(event.body.unsigned.redacted_because.redacts, eventId);
      }
      const aliceMessage = await send(server, alice, roomId, { msgtype: 'm.text', body: 'mine' });
      expectError(await server.request('PUT', roomPath(roomId, `/redact/${enc(aliceMessage)}/r2`), { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN');
    });

    it('answers unknown rooms with 404 and bad content of known types with 400 M_BAD_JSON', async () => {
      expectError(await server.request('PUT', roomPath('!nope:localhost', '/send/m.room.message/1'), { token: alice.accessToken, body: {} }), 404, 'M_NOT_FOUND');
      const roomId = await createRoom(server, alice);
      expectError(await server.request('PUT', roomPath(roomId, '/state/m.room.join_rules'), { token: alice.accessToken, body: { join_rule: 42 } }), 400, 'M_BAD_JSON');
      expectError(await server.request('POST', `${V3}/createRoom`, { token: alice.accessToken, body: { room_version: '99' } }), 400, 'M_UNSUPPORTED_ROOM_VERSION');
    });
  });
}

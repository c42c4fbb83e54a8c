/**
 * Restricted rooms and knocking (Client-Server "Restricted rooms", "Knocking
 * on rooms"; rooms v7, v8, v10), through the HTTP API.
 */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath } from './helpers/rooms';
import { createUser, expectError, startServer, type Response, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('restricted joins and knocking', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  let erin: TestUser;
  let frank: TestUser;
  before(async () => {
    server = await startServer();
    [alice, bob, carol, dave, erin, frank] = await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((name) => createUser(server, name)));
  });
  after(() => server.stop());

  const post = (user: TestUser, path: string, body: Record<string, unknown> = {}): Promise<Response> =>
    server.request('POST', path, { token: user.accessToken, body });
  const tryJoin = (user: TestUser, roomId: string) => post(user, roomPath(roomId, '/join'));
  const knock = (user: TestUser, roomId: string) => post(user, `${V3}/knock/${enc(roomId)}`, { reason: 'let me in' });

  async function ok(res: Response): Promise<void> {
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function member(roomId: string, userId: string, reader: TestUser = alice): Promise<Record<string, any>> {
    const res = await server.request('GET', roomPath(roomId, `/state/m.room.member/${enc(userId)}`), { token: reader.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function setJoinRules(roomId: string, content: Record<string, unknown>): Promise<void> {
    await ok(await server.request('PUT', roomPath(roomId, '/state/m.room.join_rules'), { token: alice.accessToken, body: content }));
  }

  const allowMembersOf = (roomId: string) => [{ type: 'm.room_membership', room_id: roomId }];

  for (const [version, rule] of [['8', 'restricted'], ['9', 'restricted'], ['10', 'knock_restricted'], ['11', 'restricted'], ['12', 'knock_restricted']]) {
    describe(`join rule ${rule} in room version ${version}`, () => {
      let space: string;
      let roomId: string;
      before(async () => {
        space = await createRoom(server, alice, { room_version: version, preset: 'public_chat' });
        roomId = await createRoom(server, alice, { room_version: version });
        await setJoinRules(roomId, { join_rule: rule, allow: allowMembersOf(space) });
        await join(server, bob, space);
      });

      it('admits a member of an allowed room, naming a local member who may invite as the authoriser', async () => {
        await ok(await tryJoin(bob, roomId));
        const content = await member(roomId, bob.userId);
        assert.equal(content.membership, 'join');
        assert.equal(content.join_authorised_via_users_server, alice.userId);
        assert.equal(content.displayname, 'bob');
      });

      it('refuses a user in none of the allowed rooms: 403 M_FORBIDDEN', async () => {
        expectError(await tryJoin(carol, roomId), 403, 'M_FORBIDDEN');
        expectError(await post(carol, `${V3}/join/${enc(roomId)}`), 403, 'M_FORBIDDEN');
      });

      it('admits an invited user without an authoriser', async () => {
        await ok(await post(alice, roomPath(roomId, '/invite'), { user_id: carol.userId }));
        await ok(await tryJoin(carol, roomId));
        const content = await member(roomId, carol.userId);
        assert.equal(content.membership, 'join');
        assert.equal(content.join_authorised_via_users_server, undefined);
      });

      it('checks the conditions only when joining: leaving the allowed room neither removes a member nor admits them again', async () => {
        await join(server, dave, space);
        await ok(await tryJoin(dave, roomId));
        await ok(await post(dave, roomPath(space, '/leave')));
        assert.equal((await member(roomId, dave.userId)).membership, 'join');
        await ok(await post(dave, roomPath(roomId, '/leave')));
        expectError(await tryJoin(dave, roomId), 403, 'M_FORBIDDEN');
      });

      it('lets a member re-join after leaving while they still meet a condition', async () => {
        await ok(await post(bob, roomPath(roomId, '/leave')));
        await ok(await tryJoin(bob, roomId));
        assert.equal((await member(roomId, bob.userId)).join_authorised_via_users_server, alice.userId);
      });

      if (rule === 'knock_restricted') {
        it('also admits knocks from anyone', async () => {
          await ok(await knock(erin, roomId));
          assert.equal((await member(roomId, erin.userId)).membership, 'knock');
          expectError(await tryJoin(erin, roomId), 403, 'M_FORBIDDEN');
        });
      } else {
        it('refuses knocks: 403 M_FORBIDDEN', async () => {
          expectError(await knock(erin, roomId), 403, 'M_FORBIDDEN');
        });
      }
    });
  }

  describe('choosing the authoriser', () => {
    let space: string;
    let roomId: string;
    before(async () => {
      space = await createRoom(server, alice, { room_version: '10', preset: 'public_chat' });
      roomId = await createRoom(server, alice, {
        room_version: '10',
        preset: 'public_chat',
        power_level_content_override: { invite: 50, users: { [alice.userId]: 100, [frank.userId]: 50, [erin.userId]: 50 } },
      });
      for (const user of [erin, frank, carol]) await join(server, user, roomId);
      await setJoinRules(roomId, { join_rule: 'restricted', allow: allowMembersOf(space) });
      for (const user of [bob, dave]) await join(server, user, space);
    });

    it('picks the joined local member with the highest power level', async () => {
      await ok(await tryJoin(bob, roomId));
      assert.equal((await member(roomId, bob.userId)).join_authorised_via_users_server, alice.userId);
    });

    it('among equals, the lowest user ID; never a member who is not joined or may not invite', async () => {
      await ok(await post(alice, roomPath(roomId, '/leave')));
      await ok(await tryJoin(dave, roomId));
      assert.equal((await member(roomId, dave.userId, dave)).join_authorised_via_users_server, erin.userId);
    });

    it('answers 400 M_UNABLE_TO_GRANT_JOIN when no local member may invite', async () => {
      await ok(await post(erin, roomPath(roomId, '/leave')));
      await ok(await post(frank, roomPath(roomId, '/leave')));
      await ok(await post(bob, roomPath(roomId, '/leave')));
      expectError(await tryJoin(bob, roomId), 400, 'M_UNABLE_TO_GRANT_JOIN');
    });
  });

  it('refuses joins when the allow conditions name only unknown rooms or unknown condition types', async () => {
    const roomId = await createRoom(server, alice, { room_version: '11' });
    await setJoinRules(roomId, { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!unknown:localhost' }, { type: 'org.example.other' }] });
    expectError(await tryJoin(bob, roomId), 403, 'M_FORBIDDEN');
    await setJoinRules(roomId, { join_rule: 'restricted' });
    expectError(await tryJoin(bob, roomId), 403, 'M_FORBIDDEN');
  });

  it('treats restricted as admitting no one in room versions before 8', async () => {
    const space = await createRoom(server, alice, { room_version: '7', preset: 'public_chat' });
    await join(server, bob, space);
    const roomId = await createRoom(server, alice, { room_version: '7' });
    await setJoinRules(roomId, { join_rule: 'restricted', allow: allowMembersOf(space) });
    expectError(await tryJoin(bob, roomId), 403, 'M_FORBIDDEN');
  });

  describe('knocking', () => {
    it('is allowed in knock rooms from version 7: the knock can be accepted by an invite, or retracted by leaving', async () => {
      const roomId = await createRoom(server, alice, { room_version: '7' });
      await setJoinRules(roomId, { join_rule: 'knock' });
      await ok(await knock(bob, roomId));
      const knocked = await member(roomId, bob.userId);
      assert.equal(knocked.membership, 'knock');
      assert.equal(knocked.reason, 'let me in');
      expectError(await tryJoin(bob, roomId), 403, 'M_FORBIDDEN');
      await ok(await post(alice, roomPath(roomId, '/invite'), { user_id: bob.userId }));
      await ok(await tryJoin(bob, roomId));
      expectError(await knock(bob, roomId), 403, 'M_FORBIDDEN');

      await ok(await knock(carol, roomId));
      await ok(await post(carol, roomPath(roomId, '/leave')));
      assert.equal((await member(roomId, carol.userId)).membership, 'leave');
    });

    it('can be refused by a kick, after which the user may knock again', async () => {
      const roomId = await createRoom(server, alice, { room_version: '12' });
      await setJoinRules(roomId, { join_rule: 'knock' });
      await ok(await knock(dave, roomId));
      await ok(await post(alice, roomPath(roomId, '/kick'), { user_id: dave.userId }));
      assert.equal((await member(roomId, dave.userId)).membership, 'leave');
      await ok(await knock(dave, roomId));
    });

    it('is refused in public, invite-only and restricted rooms, and before version 7', async () => {
      const publicRoom = await createRoom(server, alice, { room_version: '11', preset: 'public_chat' });
      expectError(await knock(bob, publicRoom), 403, 'M_FORBIDDEN');
      const inviteOnly = await createRoom(server, alice, { room_version: '11' });
      expectError(await knock(bob, inviteOnly), 403, 'M_FORBIDDEN');
      const old = await createRoom(server, alice, { room_version: '6' });
      await setJoinRules(old, { join_rule: 'knock' });
      expectError(await knock(bob, old), 403, 'M_FORBIDDEN');
      const knockRestrictedTooEarly = await createRoom(server, alice, { room_version: '9' });
      await setJoinRules(knockRestrictedTooEarly, { join_rule: 'knock_restricted', allow: allowMembersOf(publicRoom) });
      expectError(await knock(bob, knockRestrictedTooEarly), 403, 'M_FORBIDDEN');
    });

    it('answers an unknown room with 404 and a missing token with 401', async () => {
      expectError(await knock(bob, '!unknown:localhost'), 404, 'M_NOT_FOUND');
      expectError(await server.request('POST', `${V3}/knock/${enc('!unknown:localhost')}`, { body: {} }), 401, 'M_MISSING_TOKEN');
    });
  });
});

/**
 * Membership edge cases (Client-Server "Room membership": joining, inviting,
 * leaving, kicking, banning) and guest access (modules/guest_access.md),
 * through the HTTP API.
 */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type Response, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('membership', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  before(async () => {
    server = await startServer({ registration: { guest_access: true } });
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
  });
  after(() => server.stop());

  const post = (user: TestUser, path: string, body: Record<string, unknown> = {}): Promise<Response> =>
    server.request('POST', path, { token: user.accessToken, body });

  function ok(res: Response): void {
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  async function member(roomId: string, userId: string, reader: TestUser = alice): Promise<Record<string, any> | undefined> {
    const res = await server.request('GET', roomPath(roomId, `/state/m.room.member/${enc(userId)}`), { token: reader.accessToken });
    if (res.status === 404) return undefined;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  for (const version of ['12', '11', '1']) {
    describe(`in room version ${version}`, () => {
      it('rejects an invite by leaving; the invite-only room then stays closed', async () => {
        const roomId = await createRoom(server, alice, { room_version: version });
        ok(await post(alice, roomPath(roomId, '/invite'), { user_id: bob.userId, reason: 'come' }));
        const invite = await member(roomId, bob.userId);
        assert.equal(invite?.membership, 'invite');
        assert.equal(invite?.reason, 'come');
        ok(await post(bob, roomPath(roomId, '/leave'), { reason: 'no thanks' }));
        const left = await member(roomId, bob.userId);
        assert.deepEqual(left, { membership: 'leave', reason: 'no thanks' });
        expectError(await post(bob, roomPath(roomId, '/join')), 403, 'M_FORBIDDEN');
      });

      it('refuses to leave a room one is not in: 403, and an unknown room: 404', async () => {
        const roomId = await createRoom(server, alice, { room_version: version, preset: 'public_chat' });
        expectError(await post(bob, roomPath(roomId, '/leave')), 403, 'M_FORBIDDEN');
        await join(server, bob, roomId);
        ok(await post(bob, roomPath(roomId, '/leave')));
        expectError(await post(bob, roomPath(roomId, '/leave')), 403, 'M_FORBIDDEN');
        expectError(await post(bob, roomPath('!unknown:localhost', '/leave')), 404, 'M_NOT_FOUND');
      });

      it('refuses to invite a joined or banned user, and invites without the invite level or membership', async () => {
        const roomId = await createRoom(server, alice, { room_version: version, preset: 'public_chat' });
        await join(server, bob, roomId);
        expectError(await post(alice, roomPath(roomId, '/invite'), { user_id: bob.userId }), 403, 'M_FORBIDDEN');
        expectError(await post(bob, roomPath(roomId, '/invite'), { user_id: carol.userId }), 403, 'M_FORBIDDEN');
        assert.equal(await member(roomId, carol.userId), undefined);
        const other = await createRoom(server, alice, { room_version: version });
        expectError(await post(bob, roomPath(other, '/invite'), { user_id: carol.userId }), 403, 'M_FORBIDDEN');
        ok(await post(alice, roomPath(roomId, '/ban'), { user_id: carol.userId }));
        expectError(await post(alice, roomPath(roomId, '/invite'), { user_id: carol.userId }), 403, 'M_FORBIDDEN');
        expectError(await post(alice, roomPath('!unknown:localhost', '/invite'), { user_id: carol.userId }), 404, 'M_NOT_FOUND');
        expectError(await post(alice, roomPath(roomId, '/invite'), { user_id: 'carol' }), 400, 'M_INVALID_PARAM');
        expectError(await server.request('POST', roomPath(roomId, '/invite'), { body: { user_id: carol.userId } }), 401, 'M_MISSING_TOKEN');
      });

      it('bans a user who was never in the room; they can neither join nor be invited until unbanned', async () => {
        const roomId = await createRoom(server, alice, { room_version: version, preset: 'public_chat' });
        ok(await post(alice, roomPath(roomId, '/ban'), { user_id: carol.userId, reason: 'pre-emptive' }));
        assert.deepEqual(await member(roomId, carol.userId), { membership: 'ban', reason: 'pre-emptive' });
        expectError(await post(carol, roomPath(roomId, '/join')), 403, 'M_FORBIDDEN');
        expectError(await post(alice, roomPath(roomId, '/unban'), { user_id: bob.userId }), 403, 'M_FORBIDDEN');
        ok(await post(alice, roomPath(roomId, '/unban'), { user_id: carol.userId }));
        assert.equal((await member(roomId, carol.userId))?.membership, 'leave');
        await join(server, carol, roomId);
      });

      it('refuses to kick a user who is not in the room', async () => {
        const roomId = await createRoom(server, alice, { room_version: version, preset: 'public_chat' });
        expectError(await post(alice, roomPath(roomId, '/kick'), { user_id: carol.userId }), 403, 'M_FORBIDDEN');
      });

      it('puts the joiner’s display name and avatar in the join event, and lets them re-join after leaving', async () => {
        const dora = await createUser(server, `dora${version}`);
        const profile = (key: string, value: string) =>
          server.request('PUT', `${V3}/profile/${enc(dora.userId)}/${key}`, { token: dora.accessToken, body: { [key]: value } });
        ok(await profile('displayname', 'Dora the Joiner'));
        ok(await profile('avatar_url', 'mxc://localhost/dora'));
        const roomId = await createRoom(server, alice, { room_version: version, preset: 'public_chat' });
        await join(server, dora, roomId);
        assert.deepEqual(await member(roomId, dora.userId), { membership: 'join', displayname: 'Dora the Joiner', avatar_url: 'mxc://localhost/dora' });
        ok(await post(dora, roomPath(roomId, '/leave')));
        await join(server, dora, roomId);
        assert.equal((await member(roomId, dora.userId))?.membership, 'join');
        await send(server, dora, roomId, { msgtype: 'm.text', body: 'back' });
        const members = await server.request('GET', roomPath(roomId, '/joined_members'), { token: alice.accessToken });
        assert.equal(members.body.joined[dora.userId].display_name, 'Dora the Joiner');
      });

      it('marks invites from createRoom with is_direct when asked', async () => {
        const direct = await createRoom(server, alice, { room_version: version, invite: [bob.userId], is_direct: true, preset: 'trusted_private_chat' });
        assert.deepEqual(await member(direct, bob.userId), { membership: 'invite', is_direct: true });
        const group = await createRoom(server, alice, { room_version: version, invite: [bob.userId] });
        assert.deepEqual(await member(group, bob.userId), { membership: 'invite' });
      });
    });
  }

  it('never lets anyone kick or ban a room version 12 creator, whatever their level', async () => {
    const roomId = await createRoom(server, alice, {
      room_version: '12',
      preset: 'public_chat',
      power_level_content_override: { users: { [bob.userId]: 9000 } },
    });
    await join(server, bob, roomId);
    expectError(await post(bob, roomPath(roomId, '/kick'), { user_id: alice.userId }), 403, 'M_FORBIDDEN');
    expectError(await post(bob, roomPath(roomId, '/ban'), { user_id: alice.userId }), 403, 'M_FORBIDDEN');
    assert.equal((await member(roomId, alice.userId))?.membership, 'join');
    ok(await post(alice, roomPath(roomId, '/kick'), { user_id: bob.userId }));
  });

  it('lets a room version 11 creator be kicked by no one at their own level', async () => {
    const roomId = await createRoom(server, alice, {
      room_version: '11',
      preset: 'public_chat',
      power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 100 } },
    });
    await join(server, bob, roomId);
    expectError(await post(bob, roomPath(roomId, '/kick'), { user_id: alice.userId }), 403, 'M_FORBIDDEN');
  });

  describe('guest access', () => {
    let guest: TestUser;
    before(async () => {
      const res = await server.request('POST', `${V3}/register?kind=guest`, { body: {} });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      guest = { userId: res.body.user_id, deviceId: res.body.device_id, accessToken: res.body.access_token, password: '' };
    });

    async function roomWithGuestAccess(guestAccess: string | undefined, preset: 'public_chat' | 'private_chat'): Promise<string> {
      const roomId = await createRoom(server, alice, { preset });
      const path = roomPath(roomId, '/state/m.room.guest_access');
      const content = guestAccess === undefined ? {} : { guest_access: guestAccess };
      ok(await server.request('PUT', path, { token: alice.accessToken, body: content }));
      return roomId;
    }

    it('lets a guest join a public room with guest_access can_join, and speak and leave there', async () => {
      const roomId = await roomWithGuestAccess('can_join', 'public_chat');
      ok(await post(guest, roomPath(roomId, '/join')));
      assert.equal((await member(roomId, guest.userId))?.membership, 'join');
      await send(server, guest, roomId, { msgtype: 'm.text', body: 'hello as a guest' });
      ok(await post(guest, roomPath(roomId, '/leave')));
    });

    it('refuses a guest a public room whose guest_access is forbidden, missing or unknown: 403 M_FORBIDDEN', async () => {
      for (const guestAccess of ['forbidden', undefined, 'sometimes']) {
        const roomId = await roomWithGuestAccess(guestAccess, 'public_chat');
        expectError(await post(guest, roomPath(roomId, '/join')), 403, 'M_FORBIDDEN');
        assert.equal(await member(roomId, guest.userId), undefined);
      }
      const publicChat = await createRoom(server, alice, { preset: 'public_chat' });
      expectError(await post(guest, roomPath(publicChat, '/join')), 403, 'M_FORBIDDEN');
    });

    it('lets an invited guest join only where guest_access is can_join; the invite can still be rejected', async () => {
      const privateChat = await createRoom(server, alice, { preset: 'private_chat', invite: [guest.userId] });
      ok(await post(guest, roomPath(privateChat, '/join')));
      const closed = await roomWithGuestAccess('forbidden', 'private_chat');
      ok(await post(alice, roomPath(closed, '/invite'), { user_id: guest.userId }));
      expectError(await post(guest, roomPath(closed, '/join')), 403, 'M_FORBIDDEN');
      ok(await post(guest, roomPath(closed, '/leave')));
    });

    it('keeps guests off the endpoints not open to them: /join/{roomIdOrAlias}, /knock, /invite, /upgrade give 403 M_GUEST_ACCESS_FORBIDDEN', async () => {
      const roomId = await roomWithGuestAccess('can_join', 'public_chat');
      expectError(await post(guest, `${V3}/join/${enc(roomId)}`), 403, 'M_GUEST_ACCESS_FORBIDDEN');
      expectError(await post(guest, `${V3}/knock/${enc(roomId)}`), 403, 'M_GUEST_ACCESS_FORBIDDEN');
      ok(await post(guest, roomPath(roomId, '/join')));
      expectError(await post(guest, roomPath(roomId, '/invite'), { user_id: bob.userId }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
      expectError(await post(guest, roomPath(roomId, '/upgrade'), { new_version: '12' }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
    });
  });
});

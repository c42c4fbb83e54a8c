/** Room upgrades (room_upgrades.yaml, modules/room_upgrades.md), through the HTTP API. */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, expectError, startServer, type Response, type TestServer, type TestUser } from './helpers/server';

interface StateEvent {
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, any>;
  event_id: string;
}

describe('room upgrades', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    dave = await createUser(server, 'dave');
  });
  after(() => server.stop());

  const upgrade = (user: TestUser | undefined, roomId: string, body: Record<string, unknown>): Promise<Response> =>
    server.request('POST', roomPath(roomId, '/upgrade'), { token: user?.accessToken, body });

  async function upgraded(user: TestUser, roomId: string, body: Record<string, unknown>): Promise<string> {
    const res = await upgrade(user, roomId, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(typeof res.body.replacement_room, 'string');
    assert.notEqual(res.body.replacement_room, roomId);
    return res.body.replacement_room;
  }

  async function state(roomId: string, user: TestUser = alice): Promise<StateEvent[]> {
    const res = await server.request('GET', roomPath(roomId, '/state'), { token: user.accessToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  async function stateEvent(roomId: string, type: string, stateKey = '', user: TestUser = alice): Promise<StateEvent | undefined> {
    return (await state(roomId, user)).find((e) => e.type === type && e.state_key === stateKey);
  }

  async function setState(user: TestUser, roomId: string, type: string, content: Record<string, unknown>, stateKey = ''): Promise<void> {
    const res = await server.request('PUT', roomPath(roomId, `/state/${enc(type)}/${enc(stateKey)}`), { token: user.accessToken, body: content });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  describe('errors', () => {
    let roomId: string;
    before(async () => {
      roomId = await createRoom(server, alice, { preset: 'public_chat', room_version: '11' });
      await join(server, bob, roomId);
    });

    it('needs an access token: 401 M_MISSING_TOKEN', async () => {
      expectError(await upgrade(undefined, roomId, { new_version: '12' }), 401, 'M_MISSING_TOKEN');
    });

    it('refuses an unknown room version: 400 M_UNSUPPORTED_ROOM_VERSION', async () => {
      expectError(await upgrade(alice, roomId, { new_version: '99' }), 400, 'M_UNSUPPORTED_ROOM_VERSION');
    });

    it('needs new_version: 400 M_MISSING_PARAM; a non-string: 400 M_BAD_JSON', async () => {
      expectError(await upgrade(alice, roomId, {}), 400, 'M_MISSING_PARAM');
      expectError(await upgrade(alice, roomId, { new_version: 12 }), 400, 'M_BAD_JSON');
    });

    it('refuses additional_creators that are not user IDs when upgrading to version 12', async () => {
      expectError(await upgrade(alice, roomId, { new_version: '12', additional_creators: ['@nocolon'] }), 400, 'M_INVALID_PARAM');
    });

    it('answers an unknown room with 404 M_NOT_FOUND', async () => {
      expectError(await upgrade(alice, '!unknown:localhost', { new_version: '11' }), 404, 'M_NOT_FOUND');
    });

    it('refuses a non-member and a member without the power to send m.room.tombstone: 403 M_FORBIDDEN', async () => {
      const joinedRooms = async (user: TestUser) =>
        (await server.request('GET', '/_matrix/client/v3/joined_rooms', { token: user.accessToken })).body.joined_rooms.sort();
      const before = [await joinedRooms(bob), await joinedRooms(carol)];
      expectError(await upgrade(carol, roomId, { new_version: '12' }), 403, 'M_FORBIDDEN');
      expectError(await upgrade(bob, roomId, { new_version: '12' }), 403, 'M_FORBIDDEN');
      assert.equal(await stateEvent(roomId, 'm.room.tombstone'), undefined, 'a refused upgrade leaves no tombstone');
      assert.deepEqual([await joinedRooms(bob), await joinedRooms(carol)], before, 'and creates no replacement room');
    });
  });

  for (const [from, to] of [['9', '11'], ['11', '12'], ['12', '12'], ['1', '12'], ['12', '11'], ['11', '9']]) {
    describe(`from room version ${from} to ${to}`, () => {
      let oldRoom: string;
      let newRoom: string;
      let lastBefore: string;
      const copied: Record<string, Record<string, unknown>> = {
        'm.room.name': { name: 'Upgraded' },
        'm.room.topic': { topic: 'About it' },
        'm.room.avatar': { url: 'mxc://localhost/avatar' },
        'm.room.encryption': { algorithm: 'm.megolm.v1.aes-sha2' },
        'm.room.server_acl': { allow: ['*'], deny: ['evil.example'], allow_ip_literals: false },
        'm.room.history_visibility': { history_visibility: 'joined' },
        'm.room.guest_access': { guest_access: 'can_join' },
        'm.room.join_rules': { join_rule: 'public' },
      };

      before(async () => {
        oldRoom = await createRoom(server, alice, {
          room_version: from,
          preset: 'public_chat',
          name: 'Upgraded',
          topic: 'About it',
          power_level_content_override: { users: { ...(from === '12' ? {} : { [alice.userId]: 100 }), [bob.userId]: 50 } },
          initial_state: (['m.room.avatar', 'm.room.encryption', 'm.room.server_acl', 'm.room.history_visibility', 'm.room.guest_access'] as const).map(
            (type) => ({ type, content: copied[type] }),
          ),
        });
        for (const user of [bob, carol, dave]) await join(server, user, oldRoom);
        await send(server, dave, oldRoom, { msgtype: 'm.text', body: 'before the upgrade' });
        const ban = await server.request('POST', roomPath(oldRoom, '/ban'), { token: alice.accessToken, body: { user_id: carol.userId, reason: 'spam' } });
        assert.equal(ban.status, 200, JSON.stringify(ban.body));
        lastBefore = await send(server, alice, oldRoom, { msgtype: 'm.text', body: 'last words' });
        newRoom = await upgraded(alice, oldRoom, { new_version: to });
      });

      it('creates the new room with the version and the old room as predecessor', async () => {
        if (to === '12') assert.match(newRoom, /^![A-Za-z0-9_-]{43}$/);
        const create = await stateEvent(newRoom, 'm.room.create');
        assert.ok(create);
        assert.equal(create.sender, alice.userId);
        assert.equal(create.content.room_version, to);
        assert.deepEqual(create.content.predecessor, { room_id: oldRoom, event_id: lastBefore });
        assert.equal(create.content.type, undefined, 'no type when the old room had none');
        assert.equal(create.content.additional_creators, undefined);
      });

      it('tombstones the old room, pointing at the new one', async () => {
        const tombstone = await stateEvent(oldRoom, 'm.room.tombstone');
        assert.ok(tombstone);
        assert.equal(tombstone.sender, alice.userId);
        assert.equal(tombstone.content.replacement_room, newRoom);
        assert.equal(typeof tombstone.content.body, 'string');
      });

      it('restricts the old room: events_default and invite at 50, so ordinary members can no longer speak', async () => {
        const levels = await stateEvent(oldRoom, 'm.room.power_levels');
        assert.equal(levels?.content.events_default, 50);
        assert.equal(levels?.content.invite, 50);
        assert.equal(levels?.content.users[bob.userId], 50, 'the rest is kept');
        expectError(
          await server.request('PUT', roomPath(oldRoom, '/send/m.room.message/after-upgrade'), { token: dave.accessToken, body: { body: 'x' } }),
          403,
          'M_FORBIDDEN',
        );
        await send(server, bob, oldRoom, { msgtype: 'm.text', body: 'moderators still can' });
      });

      it('copies the transferable state', async () => {
        for (const [type, expected] of Object.entries(copied)) {
          const content = (await stateEvent(newRoom, type))?.content;
          assert.deepEqual(content, (await stateEvent(oldRoom, type))?.content, type);
          for (const [key, value] of Object.entries(expected)) assert.deepEqual(content?.[key], value, `${type} ${key}`);
        }
      });

      it('copies the power levels, adjusted to the new version’s creators', async () => {
        const oldLevels = (await stateEvent(oldRoom, 'm.room.power_levels'))!.content;
        const levels = (await stateEvent(newRoom, 'm.room.power_levels'))!.content;
        assert.equal(levels.users[bob.userId], 50);
        assert.equal(levels.users[alice.userId], to === '12' ? undefined : 100, 'v12 creators are not listed; others keep the top level');
        assert.deepEqual(levels.events, oldLevels.events);
        assert.equal(levels.events_default, 0, 'the old room’s restriction is not copied');
        assert.equal(levels.state_default, oldLevels.state_default);
      });

      it('carries bans over and joins only the upgrader', async () => {
        const ban = await stateEvent(newRoom, 'm.room.member', carol.userId);
        assert.equal(ban?.content.membership, 'ban');
        assert.equal(ban?.content.reason, 'spam');
        const members = await server.request('GET', roomPath(newRoom, '/joined_members'), { token: alice.accessToken });
        assert.deepEqual(Object.keys(members.body.joined), [alice.userId]);
        assert.equal(members.body.joined[alice.userId].display_name, 'alice');
        await join(server, dave, newRoom);
        await send(server, dave, newRoom, { msgtype: 'm.text', body: 'made it' });
        expectError(await server.request('POST', roomPath(newRoom, '/join'), { token: carol.accessToken, body: {} }), 403, 'M_FORBIDDEN');
      });

      it('lets members of the old room read the predecessor event', async () => {
        const res = await server.request('GET', roomPath(oldRoom, `/event/${enc(lastBefore)}`), { token: dave.accessToken });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      });
    });
  }

  it('rewrites restricted allow conditions naming the old room to the new room', async () => {
    const other = await createRoom(server, alice, { room_version: '10' });
    const oldRoom = await createRoom(server, alice, { room_version: '9' });
    const allow = (roomId: string) => [{ type: 'm.room_membership', room_id: roomId }, { type: 'm.room_membership', room_id: other }];
    await setState(alice, oldRoom, 'm.room.join_rules', { join_rule: 'restricted', allow: allow(oldRoom) });
    const newRoom = await upgraded(alice, oldRoom, { new_version: '11' });
    assert.deepEqual((await stateEvent(newRoom, 'm.room.join_rules'))?.content, { join_rule: 'restricted', allow: allow(newRoom) });
  });

  it('keeps the join rule as near as the new version allows: knock_restricted becomes restricted in version 8, knock becomes invite in 6', async () => {
    const other = await createRoom(server, alice, { room_version: '10' });
    const knockRestricted = await createRoom(server, alice, { room_version: '10' });
    const allow = [{ type: 'm.room_membership', room_id: other }];
    await setState(alice, knockRestricted, 'm.room.join_rules', { join_rule: 'knock_restricted', allow });
    const v8 = await upgraded(alice, knockRestricted, { new_version: '8' });
    assert.deepEqual((await stateEvent(v8, 'm.room.join_rules'))?.content, { join_rule: 'restricted', allow });

    const knock = await createRoom(server, alice, { room_version: '7' });
    await setState(alice, knock, 'm.room.join_rules', { join_rule: 'knock' });
    const v6 = await upgraded(alice, knock, { new_version: '6' });
    assert.deepEqual((await stateEvent(v6, 'm.room.join_rules'))?.content, { join_rule: 'invite' });
  });

  it('copies the room type and a space’s children', async () => {
    const child = await createRoom(server, alice);
    const space = await createRoom(server, alice, { creation_content: { type: 'm.space' } });
    await setState(alice, space, 'm.space.child', { via: ['localhost'] }, child);
    const newSpace = await upgraded(alice, space, { new_version: '12' });
    assert.equal((await stateEvent(newSpace, 'm.room.create'))?.content.type, 'm.space');
    assert.deepEqual((await stateEvent(newSpace, 'm.space.child', child))?.content, { via: ['localhost'] });
  });

  it('names additional_creators as creators in version 12, and ignores them for older versions', async () => {
    const oldRoom = await createRoom(server, alice, { room_version: '11', preset: 'public_chat', power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 100 } } });
    await join(server, bob, oldRoom);
    const newRoom = await upgraded(alice, oldRoom, { new_version: '12', additional_creators: [bob.userId] });
    assert.deepEqual((await stateEvent(newRoom, 'm.room.create'))?.content.additional_creators, [bob.userId]);
    const levels = (await stateEvent(newRoom, 'm.room.power_levels'))!.content;
    assert.equal(levels.users[bob.userId], undefined, 'creators are not listed in power levels');
    await join(server, bob, newRoom);
    await setState(bob, newRoom, 'm.room.history_visibility', { history_visibility: 'invited' });
    expectError(await server.request('POST', roomPath(newRoom, '/kick'), { token: alice.accessToken, body: { user_id: bob.userId } }), 403, 'M_FORBIDDEN');

    const older = await upgraded(alice, newRoom, { new_version: '11', additional_creators: [bob.userId] });
    const create = (await stateEvent(older, 'm.room.create'))!.content;
    assert.equal(create.additional_creators, undefined);
    const olderLevels = (await stateEvent(older, 'm.room.power_levels'))!.content;
    assert.equal(olderLevels.users[alice.userId], 100, 'the upgrader, a creator before, keeps the top level');
    assert.equal(olderLevels.users[bob.userId], 100, 'so does the other creator');
  });

  it('lets a moderator with the tombstone level upgrade: their level returns after the copy; the old room stays as far as their power allows', async () => {
    const oldRoom = await createRoom(server, alice, {
      room_version: '11',
      preset: 'public_chat',
      power_level_content_override: {
        users: { [alice.userId]: 100, [bob.userId]: 50 },
        events: { 'm.room.tombstone': 50, 'm.room.power_levels': 100, 'm.room.history_visibility': 100 },
      },
    });
    await join(server, bob, oldRoom);
    await setState(alice, oldRoom, 'm.room.history_visibility', { history_visibility: 'invited' });
    const newRoom = await upgraded(bob, oldRoom, { new_version: '11' });

    assert.equal((await stateEvent(newRoom, 'm.room.create', '', bob))?.sender, bob.userId);
    assert.deepEqual((await stateEvent(newRoom, 'm.room.history_visibility', '', bob))?.content, { history_visibility: 'invited' });
    const levels = (await stateEvent(newRoom, 'm.room.power_levels', '', bob))!;
    assert.deepEqual(levels.content.users, { [alice.userId]: 100, [bob.userId]: 50 });
    assert.equal(levels.sender, bob.userId);

    assert.equal((await stateEvent(oldRoom, 'm.room.tombstone'))?.content.replacement_room, newRoom);
    const oldLevels = (await stateEvent(oldRoom, 'm.room.power_levels'))!.content;
    assert.equal(oldLevels.events_default, 0, 'bob may not change the power levels, so the old room is not restricted');
  });

  it('moves local aliases, the canonical alias and the directory listing to the new room', async () => {
    const V3 = '/_matrix/client/v3';
    const oldRoom = await createRoom(server, alice, { room_version: '10', preset: 'public_chat', visibility: 'public', room_alias_name: 'moving' });
    const alt = '#moving-too:localhost';
    const put = await server.request('PUT', `${V3}/directory/room/${enc(alt)}`, { token: alice.accessToken, body: { room_id: oldRoom } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await setState(alice, oldRoom, 'm.room.canonical_alias', { alias: '#moving:localhost', alt_aliases: [alt] });
    const listed = async (roomId: string) =>
      (await server.request('GET', `${V3}/directory/list/room/${enc(roomId)}`, { token: alice.accessToken })).body.visibility;
    assert.equal(await listed(oldRoom), 'public');

    const newRoom = await upgraded(alice, oldRoom, { new_version: '12' });
    for (const alias of ['#moving:localhost', alt]) {
      const resolved = await server.request('GET', `${V3}/directory/room/${enc(alias)}`, { token: alice.accessToken });
      assert.equal(resolved.body.room_id, newRoom, alias);
    }
    const aliases = await server.request('GET', roomPath(newRoom, '/aliases'), { token: alice.accessToken });
    assert.deepEqual(aliases.body.aliases.sort(), ['#moving:localhost', alt].sort());
    assert.deepEqual((await stateEvent(newRoom, 'm.room.canonical_alias'))?.content, { alias: '#moving:localhost', alt_aliases: [alt] });
    assert.deepEqual((await stateEvent(oldRoom, 'm.room.canonical_alias'))?.content, {});
    assert.equal(await listed(newRoom), 'public');
    assert.equal(await listed(oldRoom), 'private');
  });

  it('does not copy membership: members of the old room are not invited to the new one', async () => {
    const oldRoom = await createRoom(server, alice, { room_version: '11', invite: [bob.userId] });
    const newRoom = await upgraded(alice, oldRoom, { new_version: '12' });
    assert.equal(await stateEvent(newRoom, 'm.room.member', bob.userId), undefined);
    expectError(await server.request('POST', roomPath(newRoom, '/join'), { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN');
  });
});

/** Room aliases: PUT/GET/DELETE /directory/room/{roomAlias}, GET /rooms/{roomId}/aliases, createRoom's room_alias_name, joining by alias. */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const aliasPath = (alias: string) => `${V3}/directory/room/${enc(alias)}`;

describe('room aliases', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    admin = await createUser(server, 'admin', { admin: true });
  });
  after(() => server.stop());

  const putAlias = (user: TestUser | undefined, alias: string, roomId: unknown) =>
    server.request('PUT', aliasPath(alias), { token: user?.accessToken, body: { room_id: roomId } });
  const deleteAlias = (user: TestUser, alias: string) => server.request('DELETE', aliasPath(alias), { token: user.accessToken });
  const canonicalAlias = async (roomId: string) =>
    (await server.request('GET', roomPath(roomId, '/state/m.room.canonical_alias'), { token: alice.accessToken })).body;

  it('maps an alias, resolves it without a token, and refuses to map it twice', async () => {
    const roomId = await createRoom(server, alice);
    const other = await createRoom(server, alice);
    assert.equal((await putAlias(alice, '#first:localhost', roomId)).status, 200);

    const resolved = await server.request('GET', aliasPath('#first:localhost'));
    assert.equal(resolved.status, 200);
    assert.deepEqual(resolved.body, { room_id: roomId, servers: ['localhost'] });

    const taken = await putAlias(alice, '#first:localhost', other);
    expectError(taken, 409, 'M_UNKNOWN');
    assert.equal((await server.request('GET', aliasPath('#first:localhost'))).body.room_id, roomId);
  });

  it('refuses malformed aliases, aliases of other servers and bad bodies with 400', async () => {
    const roomId = await createRoom(server, alice);
    for (const alias of ['#nocolon', 'nohash:localhost', '#:localhost', '#with space:localhost', '#a:bad_server!']) {
      expectError(await putAlias(alice, alias, roomId), 400, 'M_INVALID_PARAM');
    }
    expectError(await putAlias(alice, '#remote:other.example', roomId), 400, 'M_INVALID_PARAM');
    expectError(await putAlias(alice, '#norooms:localhost', 'not-a-room-id'), 400, 'M_INVALID_PARAM');
    expectError(await server.request('PUT', aliasPath('#nobody:localhost'), { token: alice.accessToken, body: {} }), 400, 'M_MISSING_PARAM');
  });

  it('answers 404 for an unknown room, 403 for a non-member (not an admin) and 401 without a token', async () => {
    expectError(await putAlias(alice, '#ghost:localhost', '!unknown:localhost'), 404, 'M_NOT_FOUND');
    const roomId = await createRoom(server, alice);
    expectError(await putAlias(bob, '#bobs:localhost', roomId), 403, 'M_FORBIDDEN');
    assert.equal((await putAlias(admin, '#admins:localhost', roomId)).status, 200);
    expectError(await putAlias(undefined, '#anon:localhost', roomId), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('PUT', aliasPath('#anon:localhost'), { token: 'nope', body: { room_id: roomId } }), 401, 'M_UNKNOWN_TOKEN');
  });

  it("resolves: 404 for unknown aliases, 502 for another server's alias when that server cannot be reached, 400 for malformed ones", async () => {
    expectError(await server.request('GET', aliasPath('#unknown:localhost')), 404, 'M_NOT_FOUND');
    // Port 1 on loopback: refused at once, no DNS. test/federation-joins.test.ts asks a server that answers.
    expectError(await server.request('GET', aliasPath('#elsewhere:127.0.0.1:1')), 502, 'M_UNKNOWN');
    expectError(await server.request('GET', aliasPath('#nocolon')), 400, 'M_INVALID_PARAM');
  });

  it('joins and knocks by alias', async () => {
    const publicRoom = await createRoom(server, alice, { preset: 'public_chat' });
    assert.equal((await putAlias(alice, '#joinme:localhost', publicRoom)).status, 200);
    const joined = await server.request('POST', `${V3}/join/${enc('#joinme:localhost')}`, { token: bob.accessToken, body: {} });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    assert.equal(joined.body.room_id, publicRoom);
    const rooms = await server.request('GET', `${V3}/joined_rooms`, { token: bob.accessToken });
    assert.ok(rooms.body.joined_rooms.includes(publicRoom));

    const knockRoom = await createRoom(server, alice, { initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
    assert.equal((await putAlias(alice, '#knockme:localhost', knockRoom)).status, 200);
    const knocked = await server.request('POST', `${V3}/knock/${enc('#knockme:localhost')}`, { token: bob.accessToken, body: {} });
    assert.equal(knocked.status, 200, JSON.stringify(knocked.body));
    assert.equal(knocked.body.room_id, knockRoom);
    const member = await server.request('GET', roomPath(knockRoom, `/state/m.room.member/${enc(bob.userId)}`), { token: alice.accessToken });
    assert.equal(member.body.membership, 'knock');

    expectError(await server.request('POST', `${V3}/join/${enc('#nowhere:localhost')}`, { token: bob.accessToken, body: {} }), 404, 'M_NOT_FOUND');
    expectError(await server.request('POST', `${V3}/join/${enc('#nocolon')}`, { token: bob.accessToken, body: {} }), 400, 'M_INVALID_PARAM');
  });

  it('createRoom reserves room_alias_name as the canonical alias, atomically', async () => {
    const roomId = await createRoom(server, alice, { room_alias_name: 'lounge' });
    assert.equal((await server.request('GET', aliasPath('#lounge:localhost'))).body.room_id, roomId);
    assert.deepEqual(await canonicalAlias(roomId), { alias: '#lounge:localhost' });

    const before = (await server.request('GET', `${V3}/joined_rooms`, { token: bob.accessToken })).body.joined_rooms.length;
    const taken = await server.request('POST', `${V3}/createRoom`, { token: bob.accessToken, body: { room_alias_name: 'lounge' } });
    expectError(taken, 400, 'M_ROOM_IN_USE');
    const after = (await server.request('GET', `${V3}/joined_rooms`, { token: bob.accessToken })).body.joined_rooms.length;
    assert.equal(after, before, 'no room was created');

    for (const name of ['has space', 'a:b', '']) {
      expectError(await server.request('POST', `${V3}/createRoom`, { token: bob.accessToken, body: { room_alias_name: name } }), 400, 'M_INVALID_PARAM');
    }
  });

  it('deletes: the creator may, others only with the power to set the canonical alias, or as admin', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    assert.equal((await putAlias(bob, '#bobs-alias:localhost', roomId)).status, 200);
    assert.equal((await putAlias(alice, '#alices-alias:localhost', roomId)).status, 200);
    assert.equal((await putAlias(alice, '#another:localhost', roomId)).status, 200);

    expectError(await deleteAlias(bob, '#alices-alias:localhost'), 403, 'M_FORBIDDEN');
    assert.equal((await deleteAlias(bob, '#bobs-alias:localhost')).status, 200, 'its creator');
    expectError(await server.request('GET', aliasPath('#bobs-alias:localhost')), 404, 'M_NOT_FOUND');
    assert.equal((await deleteAlias(alice, '#another:localhost')).status, 200, 'unchanged canonical alias event is fine');
    assert.equal((await deleteAlias(admin, '#alices-alias:localhost')).status, 200, 'an admin outside the room');

    expectError(await deleteAlias(alice, '#alices-alias:localhost'), 404, 'M_NOT_FOUND');
    expectError(await deleteAlias(alice, '#nocolon'), 400, 'M_INVALID_PARAM');
    expectError(await server.request('DELETE', aliasPath('#whatever:localhost')), 401, 'M_MISSING_TOKEN');
  });

  it('lets a moderator delete an alias and takes it out of m.room.canonical_alias', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat', room_alias_name: 'mod-room' });
    await join(server, bob, roomId);
    assert.equal((await putAlias(bob, '#alt-one:localhost', roomId)).status, 200);
    const set = await server.request('PUT', roomPath(roomId, '/state/m.room.canonical_alias'), {
      token: alice.accessToken,
      body: { alias: '#mod-room:localhost', alt_aliases: ['#alt-one:localhost'] },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));

    assert.equal((await deleteAlias(alice, '#alt-one:localhost')).status, 200);
    assert.deepEqual(await canonicalAlias(roomId), { alias: '#mod-room:localhost', alt_aliases: [] });
    assert.equal((await deleteAlias(alice, '#mod-room:localhost')).status, 200);
    assert.deepEqual(await canonicalAlias(roomId), { alt_aliases: [] });
  });

  it("deletes an alias its creator made even without the power to edit the room's canonical alias", async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    assert.equal((await putAlias(bob, '#bob-canon:localhost', roomId)).status, 200);
    await server.request('PUT', roomPath(roomId, '/state/m.room.canonical_alias'), { token: alice.accessToken, body: { alias: '#bob-canon:localhost' } });
    assert.equal((await deleteAlias(bob, '#bob-canon:localhost')).status, 200);
    expectError(await server.request('GET', aliasPath('#bob-canon:localhost')), 404, 'M_NOT_FOUND');
    assert.deepEqual(await canonicalAlias(roomId), { alias: '#bob-canon:localhost' }, 'bob may not change the event');
  });

  it('lists local aliases to members, to anyone in a world-readable room, and to admins', async () => {
    const roomId = await createRoom(server, alice, { room_alias_name: 'listed' });
    assert.equal((await putAlias(alice, '#listed-too:localhost', roomId)).status, 200);
    const listed = await server.request('GET', roomPath(roomId, '/aliases'), { token: alice.accessToken });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.aliases.sort(), ['#listed-too:localhost', '#listed:localhost']);

    expectError(await server.request('GET', roomPath(roomId, '/aliases'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
    assert.equal((await server.request('GET', roomPath(roomId, '/aliases'), { token: admin.accessToken })).body.aliases.length, 2);
    expectError(await server.request('GET', roomPath('!unknown:localhost', '/aliases'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
    expectError(await server.request('GET', roomPath('!unknown:localhost', '/aliases'), { token: admin.accessToken }), 404, 'M_NOT_FOUND');
    expectError(await server.request('GET', roomPath(roomId, '/aliases')), 401, 'M_MISSING_TOKEN');

    const readable = await createRoom(server, alice, { initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } }] });
    const seen = await server.request('GET', roomPath(readable, '/aliases'), { token: bob.accessToken });
    assert.equal(seen.status, 200);
    assert.deepEqual(seen.body, { aliases: [] });
  });
});

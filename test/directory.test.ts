/** The published room directory: GET/PUT /directory/list/room/{roomId} and GET/POST /publicRooms. */
import assert from 'node:assert/strict';
import { createRoom, enc, join } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const listPath = (roomId: string) => `${V3}/directory/list/room/${enc(roomId)}`;

describe('room directory visibility', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let admin: TestUser;
  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    carol = await createUser(server, 'carol');
    admin = await createUser(server, 'admin', { admin: true });
  });
  after(() => server.stop());

  const visibility = async (roomId: string) => (await server.request('GET', listPath(roomId))).body.visibility;
  const setVisibility = (user: TestUser | undefined, roomId: string, body: Record<string, unknown>) =>
    server.request('PUT', listPath(roomId), { token: user?.accessToken, body });

  it('reads the visibility without a token: createRoom public publishes, private (the default) does not', async () => {
    const published = await createRoom(server, alice, { visibility: 'public' });
    const unpublished = await createRoom(server, alice, { preset: 'public_chat' });
    const res = await server.request('GET', listPath(published));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { visibility: 'public' });
    assert.equal(await visibility(unpublished), 'private');
    expectError(await server.request('GET', listPath('!unknown:localhost')), 404, 'M_NOT_FOUND');
  });

  it('lets members with the power to set the canonical alias publish and unpublish; public is the default', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    assert.equal((await setVisibility(alice, roomId, {})).status, 200);
    assert.equal(await visibility(roomId), 'public');
    assert.equal((await setVisibility(alice, roomId, { visibility: 'private' })).status, 200);
    assert.equal(await visibility(roomId), 'private');
    assert.equal((await setVisibility(alice, roomId, { visibility: 'public' })).status, 200);
    assert.equal((await setVisibility(alice, roomId, { visibility: 'public' })).status, 200, 'no change needed');
    assert.equal(await visibility(roomId), 'public');
  });

  it('refuses members without the power, non-members and the unauthenticated; admins may', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await join(server, bob, roomId);
    expectError(await setVisibility(bob, roomId, { visibility: 'public' }), 403, 'M_FORBIDDEN');
    expectError(await setVisibility(carol, roomId, { visibility: 'public' }), 403, 'M_FORBIDDEN');
    expectError(await setVisibility(undefined, roomId, { visibility: 'public' }), 401, 'M_MISSING_TOKEN');
    assert.equal(await visibility(roomId), 'private');

    const raise = await server.request('PUT', `${V3}/rooms/${enc(roomId)}/state/m.room.power_levels`, {
      token: alice.accessToken,
      body: { users: { [bob.userId]: 50 }, events: { 'm.room.canonical_alias': 50 } },
    });
    assert.equal(raise.status, 200, JSON.stringify(raise.body));
    assert.equal((await setVisibility(bob, roomId, { visibility: 'public' })).status, 200);
    assert.equal((await setVisibility(admin, roomId, { visibility: 'private' })).status, 200);
    assert.equal(await visibility(roomId), 'private');
  });

  it('answers 404 for an unknown room and 400 for a bad visibility', async () => {
    expectError(await setVisibility(admin, '!unknown:localhost', { visibility: 'public' }), 404, 'M_NOT_FOUND');
    const roomId = await createRoom(server, alice);
    expectError(await setVisibility(alice, roomId, { visibility: 'everyone' }), 400, 'M_INVALID_PARAM');
  });
});

describe('room directory publishing by admins only', () => {
  let server: TestServer;
  let alice: TestUser;
  let admin: TestUser;
  before(async () => {
    server = await startServer({ room_directory: { publish: 'admins_only' } });
    alice = await createUser(server, 'alice');
    admin = await createUser(server, 'admin', { admin: true });
  });
  after(() => server.stop());

  it('refuses publishing by room moderators, in createRoom too, and lets them unpublish', async () => {
    const refused = await server.request('POST', `${V3}/createRoom`, { token: alice.accessToken, body: { visibility: 'public' } });
    expectError(refused, 403, 'M_FORBIDDEN');
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    expectError(await server.request('PUT', listPath(roomId), { token: alice.accessToken, body: { visibility: 'public' } }), 403, 'M_FORBIDDEN');
    assert.equal((await server.request('PUT', listPath(roomId), { token: admin.accessToken, body: { visibility: 'public' } })).status, 200);
    assert.equal((await server.request('GET', listPath(roomId))).body.visibility, 'public');
    assert.equal((await server.request('PUT', listPath(roomId), { token: alice.accessToken, body: { visibility: 'private' } })).status, 200);
    assert.equal((await server.request('GET', listPath(roomId))).body.visibility, 'private');
    assert.ok(await createRoom(server, admin, { visibility: 'public' }));
  });
});

describe('/publicRooms', () => {
  let server: TestServer;
  let alice: TestUser;
  let users: TestUser[];
  const rooms: Record<string, string> = {};

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    users = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((name) => createUser(server, name)));
    rooms.cheese = await createRoom(server, alice, {
      visibility: 'public',
      preset: 'public_chat',
      name: 'Cheese Lovers',
      topic: 'Tasty tasty cheese',
      room_alias_name: 'cheese',
      initial_state: [
        { type: 'm.room.avatar', content: { url: 'mxc://localhost/cheese' } },
        { type: 'm.room.guest_access', content: { guest_access: 'can_join' } },
        { type: 'm.room.history_visibility', content: { history_visibility: 'world_readable' } },
      ],
    });
    for (const user of users) await join(server, user, rooms.cheese);
    rooms.space = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat', name: 'A Space', creation_content: { type: 'm.space' } });
    for (const user of users.slice(0, 2)) await join(server, user, rooms.space);
    rooms.wine = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat', topic: 'Wine and WINE', room_alias_name: 'grapes' });
    await join(server, users[0], rooms.wine);
    rooms.knock = await createRoom(server, alice, {
      visibility: 'public',
      name: 'Knock knock',
      initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }],
    });
    // Published, but invite-only and not world-readable: left out of the listing, as Synapse does.
    rooms.inviteOnly = await createRoom(server, alice, { visibility: 'public', preset: 'private_chat', name: 'Hidden' });
    rooms.unpublished = await createRoom(server, alice, { preset: 'public_chat', name: 'Cheese too' });
  });
  after(() => server.stop());

  const post = (body: Record<string, unknown>, query = '') =>
    server.request('POST', `${V3}/publicRooms${query}`, { token: alice.accessToken, body });
  const ids = (body: { chunk: { room_id: string }[] }) => body.chunk.map((c) => c.room_id);

  it('lists listable published rooms, most joined members first, with the spec chunk fields, without a token', async () => {
    const res = await server.request('GET', `${V3}/publicRooms`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(ids(res.body), [rooms.cheese, rooms.space, rooms.wine, rooms.knock]);
    assert.equal(res.body.total_room_count_estimate, 4);
    assert.equal(res.body.next_batch, undefined);
    assert.equal(res.body.prev_batch, undefined);
    assert.deepEqual(res.body.chunk[0], {
      room_id: rooms.cheese,
      name: 'Cheese Lovers',
      topic: 'Tasty tasty cheese',
      canonical_alias: '#cheese:localhost',
      avatar_url: 'mxc://localhost/cheese',
      num_joined_members: 5,
      world_readable: true,
      guest_can_join: true,
      join_rule: 'public',
    });
    assert.deepEqual(res.body.chunk[1], {
      room_id: rooms.space,
      name: 'A Space',
      num_joined_members: 3,
      world_readable: false,
      guest_can_join: false,
      join_rule: 'public',
      room_type: 'm.space',
    });
    assert.equal(res.body.chunk[3].join_rule, 'knock');
    const authed = await server.request('GET', `${V3}/publicRooms`, { token: alice.accessToken });
    assert.deepEqual(authed.body, res.body);
  });

  it('follows changes of state and membership', async () => {
    await server.request('PUT', `${V3}/rooms/${enc(rooms.knock)}/state/m.room.name`, { token: alice.accessToken, body: { name: 'Knock twice' } });
    for (const user of users.slice(1, 3)) await join(server, user, rooms.wine);
    const res = await post({});
    assert.deepEqual(ids(res.body), [rooms.cheese, rooms.wine, rooms.space, rooms.knock]);
    assert.equal(res.body.chunk[3].name, 'Knock twice');
    for (const user of users.slice(1, 3)) {
      assert.equal((await server.request('POST', `${V3}/rooms/${enc(rooms.wine)}/leave`, { token: user.accessToken, body: {} })).status, 200);
    }
    assert.deepEqual(ids((await post({})).body), [rooms.cheese, rooms.space, rooms.wine, rooms.knock]);
  });

  it('shows the text/plain topic of m.topic, and nothing of a redacted name', async () => {
    const topic = { topic: 'fallback', 'm.topic': { 'm.text': [{ mimetype: 'text/html', body: '<b>rich</b>' }, { body: 'plain from m.topic' }] } };
    const set = await server.request('PUT', `${V3}/rooms/${enc(rooms.knock)}/state/m.room.topic`, { token: alice.accessToken, body: topic });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const name = await server.request('PUT', `${V3}/rooms/${enc(rooms.knock)}/state/m.room.name`, { token: alice.accessToken, body: { name: 'Doomed' } });
    const redacted = await server.request('PUT', `${V3}/rooms/${enc(rooms.knock)}/redact/${enc(name.body.event_id)}/r1`, { token: alice.accessToken, body: {} });
    assert.equal(redacted.status, 200, JSON.stringify(redacted.body));
    const chunk = (await post({})).body.chunk.find((c: { room_id: string }) => c.room_id === rooms.knock);
    assert.equal(chunk.topic, 'plain from m.topic');
    assert.equal(chunk.name, undefined);
  });

  it('paginates with next_batch and prev_batch', async () => {
    const first = await server.request('GET', `${V3}/publicRooms?limit=3`);
    assert.deepEqual(ids(first.body), [rooms.cheese, rooms.space, rooms.wine]);
    assert.equal(first.body.prev_batch, undefined);
    assert.equal(first.body.total_room_count_estimate, 4);
    assert.equal(typeof first.body.next_batch, 'string');

    const second = await server.request('GET', `${V3}/publicRooms?limit=3&since=${enc(first.body.next_batch)}`);
    assert.deepEqual(ids(second.body), [rooms.knock]);
    assert.equal(second.body.next_batch, undefined);
    assert.equal(typeof second.body.prev_batch, 'string');

    const back = await post({ limit: 3, since: second.body.prev_batch });
    assert.deepEqual(ids(back.body), [rooms.cheese, rooms.space, rooms.wine]);

    const pages = [];
    let since: string | undefined;
    do {
      const page = await post({ limit: 1, ...(since !== undefined && { since }) });
      pages.push(...ids(page.body));
      since = page.body.next_batch;
    } while (since !== undefined);
    assert.deepEqual(pages, [rooms.cheese, rooms.space, rooms.wine, rooms.knock]);
  });

  it('searches name, topic and canonical alias, case-insensitively', async () => {
    assert.deepEqual(ids((await post({ filter: { generic_search_term: 'CHEESE' } })).body), [rooms.cheese]);
    assert.deepEqual(ids((await post({ filter: { generic_search_term: 'wine' } })).body), [rooms.wine]);
    assert.deepEqual(ids((await post({ filter: { generic_search_term: 'GRAPES' } })).body), [rooms.wine]);
    assert.deepEqual(ids((await post({ filter: { generic_search_term: 's' } })).body), [rooms.cheese, rooms.space, rooms.wine]);
    assert.deepEqual(ids((await post({ filter: { generic_search_term: 'from M.TOPIC' } })).body), [rooms.knock]);
    const none = await post({ filter: { generic_search_term: 'no such room' } });
    assert.deepEqual(none.body, { chunk: [], total_room_count_estimate: 0 });
  });

  it('filters by room type, null meaning rooms without one', async () => {
    assert.deepEqual(ids((await post({ filter: { room_types: ['m.space'] } })).body), [rooms.space]);
    assert.deepEqual(ids((await post({ filter: { room_types: [null] } })).body), [rooms.cheese, rooms.wine, rooms.knock]);
    assert.deepEqual(ids((await post({ filter: { room_types: [null, 'm.space'] } })).body).length, 4);
    assert.deepEqual(ids((await post({ filter: { room_types: [] } })).body).length, 4);
  });

  it('drops a room when it is unpublished', async () => {
    const roomId = await createRoom(server, alice, { visibility: 'public', preset: 'public_chat' });
    assert.ok(ids((await post({})).body).includes(roomId));
    await server.request('PUT', listPath(roomId), { token: alice.accessToken, body: { visibility: 'private' } });
    assert.ok(!ids((await post({})).body).includes(roomId));
  });

  it('accepts its own server name, refuses others (for now), and bad parameters', async () => {
    assert.equal((await server.request('GET', `${V3}/publicRooms?server=localhost`)).body.chunk.length, 4);
    assert.equal((await post({}, '?server=localhost')).body.chunk.length, 4);
    expectError(await server.request('GET', `${V3}/publicRooms?server=other.example`), 404, 'M_NOT_FOUND');
    expectError(await post({}, '?server=bad_server!'), 400, 'M_INVALID_PARAM');
    expectError(await server.request('GET', `${V3}/publicRooms?limit=many`), 400, 'M_INVALID_PARAM');
    expectError(await server.request('GET', `${V3}/publicRooms?since=garbage`), 400, 'M_INVALID_PARAM');
    expectError(await post({ limit: -1 }), 400, 'M_INVALID_PARAM');
    expectError(await post({ limit: 'ten' }), 400, 'M_BAD_JSON');
    expectError(await post({ filter: { room_types: [3] } }), 400, 'M_BAD_JSON');
    expectError(await post({ include_all_networks: true, third_party_instance_id: 'irc' }), 400, 'M_INVALID_PARAM');
    assert.deepEqual((await post({ third_party_instance_id: 'irc' })).body.chunk, [], 'this server bridges no networks');
  });

  it('needs a token for POST, and for GET only when configured', async () => {
    expectError(await server.request('POST', `${V3}/publicRooms`, { body: {} }), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('GET', `${V3}/publicRooms`, { token: 'unknown' }), 401, 'M_UNKNOWN_TOKEN');
    const strict = await startServer({ room_directory: { require_auth_for_public_rooms: true } });
    try {
      const user = await createUser(strict, 'reader');
      expectError(await strict.request('GET', `${V3}/publicRooms`), 401, 'M_MISSING_TOKEN');
      const res = await strict.request('GET', `${V3}/publicRooms`, { token: user.accessToken });
      assert.deepEqual(res.body, { chunk: [], total_room_count_estimate: 0 });
    } finally {
      await strict.stop();
    }
  });
});

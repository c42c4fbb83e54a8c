/**
 * Spaces on one server: GET /_matrix/client/v1/rooms/{roomId}/hierarchy walks
 * the space tree depth first, children in the spec's order, with
 * suggested_only, max_depth, limit and `from` pagination, and shows each user
 * only the rooms they may peek or join.
 */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath } from './helpers/rooms';
import { createUser, expectError, startServer, type Response, type TestServer, type TestUser } from './helpers/server';

const V1 = '/_matrix/client/v1';

describe('spaces: the room hierarchy', () => {
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

  const space = (name: string, body: Record<string, unknown> = {}) =>
    createRoom(server, alice, { preset: 'public_chat', name, creation_content: { type: 'm.space' }, ...body });
  const room = (name: string, body: Record<string, unknown> = {}) => createRoom(server, alice, { preset: 'public_chat', name, ...body });

  async function setState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>, user = alice): Promise<void> {
    const res = await server.request('PUT', roomPath(roomId, `/state/${enc(type)}/${enc(stateKey)}`), { token: user.accessToken, body: content });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  /** Adds a child to a space; a short pause keeps the children's origin_server_ts apart. */
  async function addChild(spaceId: string, childId: string, content: Record<string, unknown> = {}): Promise<void> {
    await setState(spaceId, 'm.space.child', childId, { via: ['localhost'], ...content });
    await new Promise((resolve) => setTimeout(resolve, 3));
  }

  const hierarchy = (user: TestUser, roomId: string, query = ''): Promise<Response> =>
    server.request('GET', `${V1}/rooms/${enc(roomId)}/hierarchy${query}`, { token: user.accessToken });

  async function names(user: TestUser, roomId: string, query = ''): Promise<string[]> {
    const res = await hierarchy(user, roomId, query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.rooms.map((r: any) => r.name);
  }

  /** Every page of the walk, following next_batch. */
  async function allPages(user: TestUser, roomId: string, query: string): Promise<string[][]> {
    const pages: string[][] = [];
    let from: string | undefined;
    do {
      const res = await hierarchy(user, roomId, `${query}${from === undefined ? '' : `&from=${enc(from)}`}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pages.push(res.body.rooms.map((r: any) => r.name));
      from = res.body.next_batch;
    } while (from !== undefined && pages.length < 20);
    return pages;
  }

  describe('a tree of spaces', () => {
    let root: string;
    let sub: string;
    before(async () => {
      root = await space('Root', { topic: 'the top' });
      sub = await space('Sub');
      const a = await room('A');
      const b = await room('B');
      const x = await room('X');
      const y = await room('Y');
      await addChild(root, a, { order: 'b' });
      await addChild(root, sub, { order: 'a', suggested: true });
      await addChild(root, b);
      await addChild(sub, y, { suggested: true });
      await addChild(sub, x, { order: 'x' });
    });

    it('walks depth first: a space, then its children in order, each subspace before the next sibling', async () => {
      assert.deepEqual(await names(alice, root), ['Root', 'Sub', 'X', 'Y', 'A', 'B']);
    });

    it('gives each room its summary and a space its m.space.child events', async () => {
      const res = await hierarchy(bob, root);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [top, subspace, x] = res.body.rooms;
      assert.equal(top.room_id, root);
      assert.equal(top.topic, 'the top');
      assert.equal(top.room_type, 'm.space');
      assert.equal(top.join_rule, 'public');
      assert.equal(top.num_joined_members, 1);
      assert.equal(top.world_readable, false);
      assert.equal(top.guest_can_join, false);
      assert.equal(typeof top.room_version, 'string');
      assert.equal(top.children_state.length, 3);
      const child = top.children_state.find((e: any) => e.state_key === sub);
      assert.deepEqual(child.content, { via: ['localhost'], order: 'a', suggested: true });
      assert.equal(child.type, 'm.space.child');
      assert.equal(child.sender, alice.userId);
      assert.equal(typeof child.origin_server_ts, 'number');
      assert.equal(subspace.room_type, 'm.space');
      assert.equal(x.room_type, undefined);
      assert.deepEqual(x.children_state, []);
    });

    it('suggested_only follows only suggested children', async () => {
      assert.deepEqual(await names(alice, root, '?suggested_only=true'), ['Root', 'Sub', 'Y']);
      assert.deepEqual(await names(alice, root, '?suggested_only=false'), ['Root', 'Sub', 'X', 'Y', 'A', 'B']);
    });

    it('max_depth stops the walk: 0 is the room alone, 1 its children', async () => {
      assert.deepEqual(await names(alice, root, '?max_depth=0'), ['Root']);
      assert.deepEqual(await names(alice, root, '?max_depth=1'), ['Root', 'Sub', 'A', 'B']);
    });

    it('limit pages the walk, next_batch carrying on to the end', async () => {
      assert.deepEqual(await allPages(alice, root, '?limit=2'), [['Root', 'Sub'], ['X', 'Y'], ['A', 'B']]);
      assert.deepEqual(await allPages(alice, root, '?limit=4&max_depth=1'), [['Root', 'Sub', 'A', 'B']]);
      assert.deepEqual(await allPages(alice, root, '?limit=1&suggested_only=true'), [['Root'], ['Sub'], ['Y']]);
    });

    it('refuses a from token with other suggested_only or max_depth, of another user or room, or unknown: 400 M_INVALID_PARAM', async () => {
      const first = await hierarchy(alice, root, '?limit=2&max_depth=3');
      const from = enc(first.body.next_batch);
      assert.equal((await hierarchy(alice, root, `?limit=2&max_depth=3&from=${from}`)).status, 200);
      assert.equal((await hierarchy(alice, root, `?limit=5&max_depth=3&from=${from}`)).status, 200, 'the limit may change');
      expectError(await hierarchy(alice, root, `?limit=2&max_depth=2&from=${from}`), 400, 'M_INVALID_PARAM');
      expectError(await hierarchy(alice, root, `?limit=2&from=${from}`), 400, 'M_INVALID_PARAM');
      expectError(await hierarchy(alice, root, `?limit=2&max_depth=3&suggested_only=true&from=${from}`), 400, 'M_INVALID_PARAM');
      expectError(await hierarchy(bob, root, `?limit=2&max_depth=3&from=${from}`), 400, 'M_INVALID_PARAM');
      expectError(await hierarchy(alice, sub, `?limit=2&max_depth=3&from=${from}`), 400, 'M_INVALID_PARAM');
      expectError(await hierarchy(alice, root, '?from=nonsense'), 400, 'M_INVALID_PARAM');
    });

    it('refuses bad parameters with 400 M_INVALID_PARAM', async () => {
      for (const query of ['?limit=0', '?limit=-1', '?limit=many', '?max_depth=-1', '?max_depth=1.5', '?suggested_only=yes', '?suggested_only=1']) {
        expectError(await hierarchy(alice, root, query), 400, 'M_INVALID_PARAM');
      }
      expectError(await server.request('GET', `${V1}/rooms/${enc(root)}/hierarchy`), 401, 'M_MISSING_TOKEN');
    });
  });

  it('orders children as the spec says: valid orders first, then by timestamp, then by room ID', async () => {
    const root = await space('Ordered');
    const ids: Record<string, string> = {};
    for (const name of ['first', 'space', 'aaaa', 'plain1', 'plain2', 'long', 'unicode', 'number', 'empty']) ids[name] = await room(name);
    await addChild(root, ids.plain1);
    await addChild(root, ids.first, { order: 'first' });
    await addChild(root, ids.long, { order: 'x'.repeat(51) });
    await addChild(root, ids.space, { order: ' ' });
    await addChild(root, ids.plain2);
    await addChild(root, ids.unicode, { order: 'é' });
    await addChild(root, ids.aaaa, { order: 'aaaa' });
    await addChild(root, ids.number, { order: 1 });
    await addChild(root, ids.empty, { order: '' });
    assert.deepEqual(await names(alice, root), ['Ordered', 'space', 'aaaa', 'first', 'plain1', 'long', 'plain2', 'unicode', 'number', 'empty']);

    // Equal orders go by timestamp.
    const tied = await space('Tied');
    const late = await room('late');
    const early = await room('early');
    await addChild(tied, early, { order: 'same' });
    await addChild(tied, late, { order: 'same' });
    assert.deepEqual(await names(alice, tied), ['Tied', 'early', 'late']);
  });

  it('answers 403 M_FORBIDDEN for a private space of which the user is not a member, and an unknown room', async () => {
    const secret = await space('Secret', { preset: 'private_chat' });
    expectError(await hierarchy(bob, secret), 403, 'M_FORBIDDEN');
    expectError(await hierarchy(bob, '!unknown:localhost'), 403, 'M_FORBIDDEN');
    expectError(await hierarchy(bob, '!unknown'), 403, 'M_FORBIDDEN');
    // An invite is enough to look.
    const invite = await server.request('POST', roomPath(secret, '/invite'), { token: alice.accessToken, body: { user_id: bob.userId } });
    assert.equal(invite.status, 200, JSON.stringify(invite.body));
    assert.deepEqual(await names(bob, secret), ['Secret']);
    // So is world-readable history.
    await setState(secret, 'm.room.history_visibility', '', { history_visibility: 'world_readable' });
    assert.deepEqual(await names(carol, secret), ['Secret']);
  });

  it('hides private children from non-members, shows world-readable and knockable ones, and restricted ones to members of an allowed room', async () => {
    const root = await space('Mixed');
    const hidden = await room('hidden', { preset: 'private_chat' });
    const readable = await room('readable', { preset: 'private_chat' });
    await setState(readable, 'm.room.history_visibility', '', { history_visibility: 'world_readable' });
    const knockable = await room('knockable', { preset: 'private_chat' });
    await setState(knockable, 'm.room.join_rules', '', { join_rule: 'knock' });
    const restricted = await room('restricted', { preset: 'private_chat' });
    await setState(restricted, 'm.room.join_rules', '', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: root }] });
    for (const child of [hidden, readable, knockable, restricted]) await addChild(root, child);

    assert.deepEqual(await names(alice, root), ['Mixed', 'hidden', 'readable', 'knockable', 'restricted']);
    assert.deepEqual(await names(carol, root), ['Mixed', 'readable', 'knockable']);
    await join(server, bob, root);
    assert.deepEqual(await names(bob, root), ['Mixed', 'readable', 'knockable', 'restricted']);
    const res = await hierarchy(bob, root);
    assert.deepEqual(res.body.rooms.find((r: any) => r.name === 'restricted').allowed_room_ids, [root]);
    assert.equal(res.body.rooms.find((r: any) => r.name === 'restricted').join_rule, 'restricted');
  });

  it('breaks loops: every room once', async () => {
    const one = await space('One');
    const two = await space('Two');
    const three = await space('Three');
    await addChild(one, two);
    await addChild(two, three);
    await addChild(three, one);
    await addChild(two, one);
    await addChild(one, one);
    assert.deepEqual(await names(alice, one), ['One', 'Two', 'Three']);
    assert.deepEqual(await names(alice, three), ['Three', 'One', 'Two']);
    assert.deepEqual(await allPages(alice, one, '?limit=1'), [['One'], ['Two'], ['Three']]);
  });

  it('ignores children without a via, with an empty via, removed or redacted, and children_state leaves them out', async () => {
    const root = await space('Vias');
    const kept = await room('kept');
    const noVia = await room('no via');
    const emptyVia = await room('empty via');
    const removed = await room('removed');
    await addChild(root, kept);
    await setState(root, 'm.space.child', noVia, { order: 'a' });
    await setState(root, 'm.space.child', emptyVia, { via: [] });
    await addChild(root, removed);
    await setState(root, 'm.space.child', removed, {});
    const redacted = await room('redacted');
    const childEvent = await server.request('PUT', roomPath(root, `/state/m.space.child/${enc(redacted)}`), { token: alice.accessToken, body: { via: ['localhost'] } });
    assert.equal(childEvent.status, 200, JSON.stringify(childEvent.body));
    const redaction = await server.request('PUT', roomPath(root, `/redact/${enc(childEvent.body.event_id)}/r1`), { token: alice.accessToken, body: {} });
    assert.equal(redaction.status, 200, JSON.stringify(redaction.body));
    const res = await hierarchy(alice, root);
    assert.deepEqual(res.body.rooms.map((r: any) => r.name), ['Vias', 'kept']);
    assert.deepEqual(res.body.rooms[0].children_state.map((e: any) => e.state_key), [kept]);
  });

  it('shows a room that is not a space alone, without walking its m.space.child events', async () => {
    const plain = await room('Plain');
    await addChild(plain, await room('ignored'));
    const res = await hierarchy(alice, plain);
    assert.deepEqual(res.body.rooms.map((r: any) => r.name), ['Plain']);
    assert.deepEqual(res.body.rooms[0].children_state, []);
    assert.equal(res.body.next_batch, undefined);
  });

  it('caps the limit at 100 rooms a page', async function () {
    this.timeout(60_000);
    const big = await space('Big');
    for (let i = 0; i < 105; i++) {
      await setState(big, 'm.space.child', await createRoom(server, alice, { preset: 'public_chat' }), { via: ['localhost'] });
    }
    const first = await hierarchy(alice, big, '?limit=1000');
    assert.equal(first.status, 200);
    assert.equal(first.body.rooms.length, 100);
    const rest = await hierarchy(alice, big, `?limit=1000&from=${enc(first.body.next_batch)}`);
    assert.equal(rest.body.rooms.length, 6);
    assert.equal(rest.body.next_batch, undefined);
    const seen = new Set([...first.body.rooms, ...rest.body.rooms].map((r: any) => r.room_id));
    assert.equal(seen.size, 106);
  });
});

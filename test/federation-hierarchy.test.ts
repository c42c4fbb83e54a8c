/**
 * Spaces across two real Weft servers on loopback TLS
 * (test/helpers/federation-network.ts): a space on A names rooms and a space
 * on B that A has never joined, and A's client sees them through B's
 * GET /_matrix/federation/v1/hierarchy/{roomId}; that endpoint answers with
 * room, children and inaccessible_children, and refuses what it must.
 */
import assert from 'node:assert/strict';
import { FederationError } from '../federation/client';
import { federationHierarchy, hierarchyAnswerFromJson } from '../federation/hierarchy';
import { startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, enc, roomPath } from './helpers/rooms';
import { createUser, type Response, type TestServer, type TestUser } from './helpers/server';

const V1 = '/_matrix/client/v1';
const FED = '/_matrix/federation/v1';

describe('federation: the space hierarchy', function () {
  this.timeout(60_000);
  let a: FederatedServer;
  let b: FederatedServer;
  let alice: TestUser;
  let amy: TestUser;
  let bob: TestUser;
  /** Rooms on B. */
  let bravo: string;
  let bravoTwo: string;
  let secret: string;
  let bSpace: string;
  /** The space on A. */
  let aSpace: string;
  /** The rooms A's hierarchy asked B about, in order. */
  const asked: string[] = [];

  before(async () => {
    [a, b] = await startFederation(2);
    alice = await createUser(a, 'alice');
    amy = await createUser(a, 'amy');
    bob = await createUser(b, 'bob');

    bravo = await createRoom(b, bob, { preset: 'public_chat', name: 'Bravo', topic: 'on B' });
    bravoTwo = await createRoom(b, bob, { preset: 'public_chat', name: 'Bravo two' });
    secret = await createRoom(b, bob, { preset: 'private_chat', name: 'Secret' });
    bSpace = await createRoom(b, bob, { preset: 'public_chat', name: 'B space', creation_content: { type: 'm.space' } });
    await addChild(b, bob, bSpace, bravoTwo, [b.name], { suggested: true });
    await addChild(b, bob, bSpace, secret, [b.name]);

    aSpace = await createRoom(a, alice, { preset: 'public_chat', name: 'A space', creation_content: { type: 'm.space' } });
    await addChild(a, alice, aSpace, bravo, [b.name]);
    await addChild(a, alice, aSpace, bSpace, [b.name]);
    await addChild(a, alice, aSpace, secret, [b.name]);

    // A's federation requests, counted.
    const remote = federationHierarchy(a.hs.federation.client, a.name);
    a.hs.services.spaces.setRemote({
      fetch: (roomId, via, suggestedOnly) => {
        asked.push(roomId);
        return remote.fetch(roomId, via, suggestedOnly);
      },
    });
  });
  after(() => stopAll([a, b]));

  async function addChild(server: TestServer, user: TestUser, spaceId: string, childId: string, via: string[], extra: Record<string, unknown> = {}) {
    const res = await server.request('PUT', roomPath(spaceId, `/state/m.space.child/${enc(childId)}`), { token: user.accessToken, body: { via, ...extra } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await new Promise((resolve) => setTimeout(resolve, 3));
  }

  const hierarchy = (server: TestServer, user: TestUser, roomId: string, query = ''): Promise<Response> =>
    server.request('GET', `${V1}/rooms/${enc(roomId)}/hierarchy${query}`, { token: user.accessToken });

  async function rooms(server: TestServer, user: TestUser, roomId: string): Promise<any[]> {
    const res = await hierarchy(server, user, roomId);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.rooms;
  }

  /** B's federation endpoint, asked by A's federation client (signed by A unless `signed` is false). */
  const askB = (path: string, options: { signed?: boolean; query?: Record<string, string> } = {}) => a.hs.federation.client.get<any>(b.name, path, options);

  async function refusal(request: Promise<unknown>): Promise<FederationError> {
    try {
      await request;
    } catch (err) {
      assert.ok(err instanceof FederationError, String(err));
      return err;
    }
    assert.fail('the request succeeded');
  }

  it("A's user sees B's rooms, which A never joined, with their names: B's space and its children from one answer", async () => {
    const found = await rooms(a, alice, aSpace);
    assert.deepEqual(found.map((r) => r.name), ['A space', 'Bravo', 'B space', 'Bravo two']);
    const [, bravoRoom, space, two] = found;
    assert.equal(bravoRoom.room_id, bravo);
    assert.equal(bravoRoom.topic, 'on B');
    assert.equal(bravoRoom.num_joined_members, 1);
    assert.equal(bravoRoom.join_rule, 'public');
    assert.equal(space.room_type, 'm.space');
    assert.deepEqual(space.children_state.map((e: any) => e.state_key).sort(), [bravoTwo, secret].sort());
    assert.equal(two.room_id, bravoTwo);
    assert.equal(await a.hs.services.stores.rooms.get(bravo), undefined, 'A is not in the room');
    // Bravo two came with B's space, whose answer also listed Secret as inaccessible: it is not asked about.
    assert.deepEqual(asked, [bravo, bSpace]);
  });

  it('answers room, children and inaccessible_children over federation', async () => {
    const answer = await askB(`${FED}/hierarchy/${enc(bSpace)}`);
    assert.equal(answer.room.room_id, bSpace);
    assert.equal(answer.room.name, 'B space');
    assert.equal(answer.room.room_type, 'm.space');
    assert.equal(answer.room.children_state.length, 2);
    assert.ok(answer.room.children_state.every((e: any) => e.type === 'm.space.child' && typeof e.origin_server_ts === 'number'));
    assert.deepEqual(answer.children.map((r: any) => [r.room_id, r.name]), [[bravoTwo, 'Bravo two']]);
    assert.deepEqual(answer.inaccessible_children, [secret]);

    const suggested = await askB(`${FED}/hierarchy/${enc(bSpace)}`, { query: { suggested_only: 'true' } });
    assert.deepEqual(suggested.children.map((r: any) => r.room_id), [bravoTwo]);
    assert.deepEqual(suggested.inaccessible_children, []);

    const plain = await askB(`${FED}/hierarchy/${enc(bravo)}`);
    assert.equal(plain.room.name, 'Bravo');
    assert.deepEqual(plain.room.children_state, []);
    assert.deepEqual(plain.children, []);
  });

  it('answers 404 M_NOT_FOUND for an unknown room and one A could not peek or join, 400 for a bad suggested_only', async () => {
    for (const roomId of ['!unknown:example.org', secret]) {
      const err = await refusal(askB(`${FED}/hierarchy/${enc(roomId)}`));
      assert.equal(err.status, 404);
      assert.equal(err.errcode, 'M_NOT_FOUND');
    }
    const err = await refusal(askB(`${FED}/hierarchy/${enc(bSpace)}`, { query: { suggested_only: 'maybe' } }));
    assert.equal(err.status, 400);
    assert.equal(err.errcode, 'M_INVALID_PARAM');
  });

  it('answers 401 M_UNAUTHORIZED to an unsigned request', async () => {
    const err = await refusal(askB(`${FED}/hierarchy/${enc(bSpace)}`, { signed: false }));
    assert.equal(err.status, 401);
    assert.equal(err.errcode, 'M_UNAUTHORIZED');
  });

  it("keeps B's answers for a while, and uses its own state once A is in the room", async () => {
    const rename = await b.request('PUT', roomPath(bravo, '/state/m.room.name/'), { token: bob.accessToken, body: { name: 'Bravo renamed' } });
    assert.equal(rename.status, 200, JSON.stringify(rename.body));
    assert.equal((await rooms(a, alice, aSpace))[1].name, 'Bravo', 'the cached answer');

    const joined = await a.request('POST', `/_matrix/client/v3/join/${enc(bravo)}?server_name=${enc(b.name)}`, { token: alice.accessToken, body: {} });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    const bravoRoom = (await rooms(a, alice, aSpace))[1];
    assert.equal(bravoRoom.name, 'Bravo renamed');
    assert.equal(bravoRoom.num_joined_members, 2);
  });

  it('leaves out a room B will not describe to A', async () => {
    const space = await createRoom(a, alice, { preset: 'public_chat', name: 'Secrets', creation_content: { type: 'm.space' } });
    await addChild(a, alice, space, secret, [b.name]);
    asked.length = 0;
    assert.deepEqual((await rooms(a, alice, space)).map((r) => r.name), ['Secrets']);
    assert.deepEqual(asked, [secret]);
  });

  it('shows an invite-only room of B to the user of A who is invited to it, and to no one else', async () => {
    const invited = await createRoom(b, bob, { preset: 'private_chat', name: 'Invited' });
    const invite = await b.request('POST', roomPath(invited, '/invite'), { token: bob.accessToken, body: { user_id: alice.userId } });
    assert.equal(invite.status, 200, JSON.stringify(invite.body));
    const space = await createRoom(a, alice, { preset: 'public_chat', name: 'Invites', creation_content: { type: 'm.space' } });
    await addChild(a, alice, space, invited, [b.name]);
    assert.deepEqual((await rooms(a, alice, space)).map((r) => r.name), ['Invites', 'Invited']);
    assert.deepEqual((await rooms(a, amy, space)).map((r) => r.name), ['Invites']);
  });
});

describe('federation: checking another server\'s hierarchy answer', () => {
  const summary = (roomId: string, extra: Record<string, unknown> = {}) => ({ room_id: roomId, num_joined_members: 2, world_readable: false, guest_can_join: false, ...extra });

  it('keeps a well-formed answer for the room asked about', () => {
    const answer = hierarchyAnswerFromJson({
      room: summary('!space:b.example', { name: 'Space', room_type: 'm.space', children_state: [
        { type: 'm.space.child', state_key: '!child:b.example', content: { via: ['b.example'] }, sender: '@bob:b.example', origin_server_ts: 5 },
        { type: 'm.space.child', state_key: '!odd:b.example', content: { via: ['b.example'] }, sender: '@bob:b.example' },
      ] }),
      children: [summary('!child:b.example', { name: 7, topic: 'kept' }), { room_id: '!broken:b.example' }, 'nonsense'],
      inaccessible_children: ['!hidden:b.example', 42, 'not a room'],
    }, '!space:b.example');
    assert.ok(answer);
    assert.equal(answer.room.name, 'Space');
    assert.deepEqual(answer.room.children_state.map((e) => e.state_key), ['!child:b.example'], 'an event without origin_server_ts is dropped');
    assert.deepEqual(answer.children.map((c) => [c.room.room_id, c.room.name, c.room.topic, c.childrenState]), [['!child:b.example', undefined, 'kept', false]]);
    assert.deepEqual(answer.inaccessibleChildren, ['!hidden:b.example']);
  });

  it('refuses an answer about another room, or without a valid room', () => {
    assert.equal(hierarchyAnswerFromJson({ room: summary('!other:b.example'), children: [], inaccessible_children: [] }, '!space:b.example'), undefined);
    assert.equal(hierarchyAnswerFromJson({ room: { room_id: '!space:b.example' }, children: [] }, '!space:b.example'), undefined);
    assert.equal(hierarchyAnswerFromJson([], '!space:b.example'), undefined);
  });
});

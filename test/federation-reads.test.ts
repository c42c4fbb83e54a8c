/**
 * The federation endpoints that serve room events to other servers: /event,
 * /state, /state_ids, /event_auth, /backfill, /get_missing_events and
 * /timestamp_to_event, with signed requests from fake remote servers
 * (test/helpers/federation.ts), whose users join local rooms through storage.
 */
import assert from 'node:assert/strict';
import { checkContentHash, computeEventId } from '../spec/event-hashes';
import { authEventIds, prevEventIds, type Pdu } from '../spec/pdu';
import { roomVersion, type RoomVersion } from '../spec/room-versions';
import { signingKeyPair, verifyEventSignature } from '../spec/signing';
import { parseSigningKey } from '../spec/signing-key';
import { xMatrixAuthorization } from '../spec/x-matrix';
import { appendRemoteEvent, joinRemoteUser, remoteIdentity, startFederationServer, type FederationTestServer, type RemoteIdentity } from './helpers/federation';
import { createRoom, enc, send } from './helpers/rooms';
import { createUser, expectError, type TestUser } from './helpers/server';

const V1 = '/_matrix/federation/v1';
const V3 = '/_matrix/client/v3';

describe('federation: reading room events', () => {
  let fed: FederationTestServer;
  let alice: TestUser;
  /** A server with a user in the rooms the tests join it to. */
  let remote: RemoteIdentity;
  /** A known server with no user in any room. */
  let stranger: RemoteIdentity;
  /** A server whose signatures the test server cannot check. */
  let unknown: RemoteIdentity;

  before(async () => {
    remote = remoteIdentity('remote.example');
    stranger = remoteIdentity('stranger.example:8448');
    unknown = remoteIdentity('unknown.example');
    fed = await startFederationServer([remote, stranger]);
    alice = await createUser(fed.server, 'alice');
  });
  after(() => fed.stop());

  const get = (identity: RemoteIdentity, path: string) => fed.request(identity, 'GET', path);
  const ok = async (identity: RemoteIdentity, method: string, path: string, body?: unknown) => {
    const res = await fed.request(identity, method, path, body);
    assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  };

  const setState = async (roomId: string, type: string, content: Record<string, unknown>, stateKey = '') => {
    const res = await fed.server.request('PUT', `${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, { token: alice.accessToken, body: content });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.event_id as string;
  };

  /** A public room with a few messages, which remote.example's @bob has joined. */
  async function sharedRoom(body: Record<string, unknown> = {}): Promise<{ roomId: string; messages: string[]; version: RoomVersion }> {
    const roomId = await createRoom(fed.server, alice, { preset: 'public_chat', ...body });
    await joinRemoteUser(fed.services, remote, roomId);
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) messages.push(await send(fed.server, alice, roomId, { msgtype: 'm.text', body: `m${i}` }));
    const room = await fed.services.stores.rooms.get(roomId);
    return { roomId, messages, version: roomVersion(room!.version)! };
  }

  /** The PDU is as its sender's server signed it: its content hash holds, its signature verifies, and it hashes to `eventId`. */
  function assertSignedPdu(pdu: Pdu, eventId: string, version: RoomVersion) {
    const fromRemote = pdu.sender.endsWith(`:${remote.serverName}`);
    const key = fromRemote ? remote.key : signingKeyPair(parseSigningKey(fed.server.config.signing_key));
    assert.ok(checkContentHash(pdu), 'content hash');
    assert.ok(verifyEventSignature(pdu, version, fromRemote ? remote.serverName : fed.serverName, key.keyId, key.publicKeyBase64), 'signature');
    assert.equal(computeEventId(pdu, version), eventId);
  }

  /** Every event of the room, by ID. */
  async function allEvents(roomId: string): Promise<Map<string, Pdu>> {
    const nid = await fed.services.stores.rooms.nid(roomId);
    const ids: string[] = (await fed.services.stores.db('events').where({ room_nid: nid }).select('event_id')).map((r: { event_id: string }) => r.event_id);
    return new Map([...(await fed.services.stores.events.get(ids))].map(([id, stored]) => [id, stored.event.pdu]));
  }

  /** The auth chain of `ids` worked out from the PDUs (plus, from room version 12, the create event). */
  function expectedAuthChain(events: Map<string, Pdu>, ids: string[], roomId: string, version: RoomVersion): Set<string> {
    const createId = version.eventFormat === 'v12' ? `$${roomId.slice(1)}` : undefined;
    const chain = new Set<string>();
    const visit = (id: string) => {
      const pdu = events.get(id)!;
      const auth = authEventIds(pdu);
      if (createId && id !== createId) auth.push(createId);
      for (const authId of auth) {
        if (chain.has(authId)) continue;
        chain.add(authId);
        visit(authId);
      }
    };
    ids.forEach(visit);
    return chain;
  }

  /** The ID of remote.example's @bob's join event among the room's events. */
  const joinOf = (events: Map<string, Pdu>) =>
    [...events].find(([, pdu]) => pdu.type === 'm.room.member' && pdu.state_key === '@bob:remote.example')![0];

  describe('authentication', () => {
    it('refuses requests without a valid X-Matrix signature with 401 M_UNAUTHORIZED', async () => {
      const { messages } = await sharedRoom();
      const path = `${V1}/event/${enc(messages[0])}`;
      expectError(await fed.request(remote, 'GET', path, undefined, { authorization: null }), 401, 'M_UNAUTHORIZED');
      expectError(await fed.request(remote, 'GET', path, undefined, { authorization: 'Bearer abc' }), 401, 'M_UNAUTHORIZED');
      expectError(await fed.request(unknown, 'GET', path), 401, 'M_UNAUTHORIZED');
      expectError(await fed.request(remote, 'GET', path, undefined, { destination: 'elsewhere.example' }), 401, 'M_UNAUTHORIZED');
      // Signed for another path.
      const other = await fed.request(remote, 'GET', `${V1}/event/${enc(messages[1])}`);
      assert.equal(other.status, 200);
      const forOther = xMatrixAuthorization({ method: 'GET', uri: `${V1}/event/${enc(messages[1])}`, origin: remote.serverName, destination: fed.serverName }, remote.key);
      expectError(await fed.request(remote, 'GET', path, undefined, { authorization: forOther }), 401, 'M_UNAUTHORIZED');
      // A POST's signature covers its body.
      const body = { earliest_events: [], latest_events: [messages[2]] };
      const signedOther = xMatrixAuthorization({ method: 'POST', uri: `${V1}/get_missing_events/x`, origin: remote.serverName, destination: fed.serverName, content: body }, remote.key);
      expectError(await fed.request(remote, 'POST', `${V1}/get_missing_events/x`, { ...body, limit: 1 }, { authorization: signedOther }), 401, 'M_UNAUTHORIZED');
    });
  });

  describe('GET /event/{eventId}', () => {
    it('returns the PDU as signed, in a transaction from this server', async () => {
      const { messages, version } = await sharedRoom();
      const before = Date.now();
      const body = await ok(remote, 'GET', `${V1}/event/${enc(messages[1])}`);
      assert.equal(body.origin, fed.serverName);
      assert.ok(body.origin_server_ts >= before);
      assert.equal(body.pdus.length, 1);
      assert.equal(body.pdus[0].content.body, 'm1');
      assertSignedPdu(body.pdus[0], messages[1], version);
    });

    it('serves room versions with event IDs in the PDU (v1) and with room IDs from the creator (v12) alike', async () => {
      for (const roomVersionId of ['1', '10', '12']) {
        const { messages, version } = await sharedRoom({ room_version: roomVersionId });
        const body = await ok(remote, 'GET', `${V1}/event/${enc(messages[0])}`);
        assertSignedPdu(body.pdus[0], messages[0], version);
        assert.equal(body.pdus[0].event_id === messages[0], roomVersionId === '1');
      }
    });

    it('answers 404 for an unknown event and 403 to a server that may not see it', async () => {
      const { messages } = await sharedRoom();
      expectError(await get(remote, `${V1}/event/${enc('$unknown')}`), 404, 'M_NOT_FOUND');
      expectError(await get(stranger, `${V1}/event/${enc(messages[0])}`), 403, 'M_FORBIDDEN');
    });

    it('serves a redacted event redacted', async () => {
      const { roomId, messages, version } = await sharedRoom();
      const res = await fed.server.request('PUT', `${V3}/rooms/${enc(roomId)}/redact/${enc(messages[0])}/r1`, { token: alice.accessToken, body: {} });
      assert.equal(res.status, 200);
      const { pdus } = await ok(remote, 'GET', `${V1}/event/${enc(messages[0])}`);
      assert.deepEqual(pdus[0].content, {});
      assert.equal(computeEventId(pdus[0], version), messages[0], 'a redacted event keeps its ID');
    });
  });

  describe('GET /state and /state_ids', () => {
    it('returns the state before the event and its auth chain', async () => {
      const { roomId, messages, version } = await sharedRoom();
      const topic = await setState(roomId, 'm.room.topic', { topic: 'new' });
      const expectedState = await fed.services.stores.roomState.stateBefore(topic);
      const ids = await ok(remote, 'GET', `${V1}/state_ids/${enc(roomId)}?event_id=${enc(topic)}`);
      assert.deepEqual(new Set(ids.pdu_ids), new Set(expectedState!.values()));
      assert.ok(!ids.pdu_ids.includes(topic), 'the state before the event, not after');
      assert.ok(ids.pdu_ids.some((id: string) => id.length > 0));
      const events = await allEvents(roomId);
      assert.deepEqual(new Set(ids.auth_chain_ids), expectedAuthChain(events, ids.pdu_ids, roomId, version));

      const full = await ok(remote, 'GET', `${V1}/state/${enc(roomId)}?event_id=${enc(topic)}`);
      assert.deepEqual(full.pdus.map((pdu: Pdu) => computeEventId(pdu, version)).sort(), [...ids.pdu_ids].sort());
      assert.deepEqual(full.auth_chain.map((pdu: Pdu) => computeEventId(pdu, version)).sort(), [...ids.auth_chain_ids].sort());
      for (const pdu of full.pdus) assertSignedPdu(pdu, computeEventId(pdu, version), version);
      const member = full.pdus.find((pdu: Pdu) => pdu.type === 'm.room.member' && pdu.state_key === '@bob:remote.example');
      assert.equal(member.content.membership, 'join');
      assert.equal(member.signatures['remote.example'] !== undefined, true, 'the remote join as its server signed it');

      const atMessage = await ok(remote, 'GET', `${V1}/state_ids/${enc(roomId)}?event_id=${enc(messages[0])}`);
      assert.deepEqual(new Set(atMessage.pdu_ids), new Set((await fed.services.stores.roomState.stateBefore(messages[0]))!.values()));
    });

    it('checks its parameters, the room and the event', async () => {
      const { roomId, messages } = await sharedRoom();
      const other = await sharedRoom();
      expectError(await get(remote, `${V1}/state_ids/${enc(roomId)}`), 400, 'M_MISSING_PARAM');
      expectError(await get(remote, `${V1}/state/${enc(roomId)}`), 400, 'M_MISSING_PARAM');
      expectError(await get(remote, `${V1}/state_ids/${enc('!nowhere:localhost')}?event_id=${enc(messages[0])}`), 404, 'M_NOT_FOUND');
      expectError(await get(remote, `${V1}/state_ids/${enc(roomId)}?event_id=${enc('$nothing')}`), 404, 'M_NOT_FOUND');
      expectError(await get(remote, `${V1}/state_ids/${enc(other.roomId)}?event_id=${enc(messages[0])}`), 404, 'M_NOT_FOUND');
      expectError(await get(stranger, `${V1}/state_ids/${enc(roomId)}?event_id=${enc(messages[0])}`), 403, 'M_FORBIDDEN');
      expectError(await get(stranger, `${V1}/state/${enc(roomId)}?event_id=${enc(messages[0])}`), 403, 'M_FORBIDDEN');
    });
  });

  describe('GET /event_auth', () => {
    it('returns the auth chain of the event', async () => {
      const { roomId, messages, version } = await sharedRoom();
      const { auth_chain } = await ok(remote, 'GET', `${V1}/event_auth/${enc(roomId)}/${enc(messages[2])}`);
      const events = await allEvents(roomId);
      const expected = expectedAuthChain(events, [messages[2]], roomId, version);
      assert.deepEqual(new Set(auth_chain.map((pdu: Pdu) => computeEventId(pdu, version))), expected);
      assert.deepEqual(new Set(auth_chain.map((pdu: Pdu) => pdu.type)), new Set(['m.room.create', 'm.room.power_levels', 'm.room.member']));
      const ofJoin = await ok(remote, 'GET', `${V1}/event_auth/${enc(roomId)}/${enc(joinOf(events))}`);
      assert.deepEqual(new Set(ofJoin.auth_chain.map((pdu: Pdu) => computeEventId(pdu, version))), expectedAuthChain(events, [joinOf(events)], roomId, version));
      assert.ok(ofJoin.auth_chain.some((pdu: Pdu) => pdu.type === 'm.room.join_rules'), 'a join is authorised by the join rules');
      expectError(await get(remote, `${V1}/event_auth/${enc(roomId)}/${enc('$nothing')}`), 404, 'M_NOT_FOUND');
      expectError(await get(stranger, `${V1}/event_auth/${enc(roomId)}/${enc(messages[2])}`), 403, 'M_FORBIDDEN');
    });
  });

  describe('GET /backfill', () => {
    it('walks back from the given events, deepest first, up to the limit', async () => {
      const { roomId, messages, version } = await sharedRoom();
      const events = await allEvents(roomId);
      const page = await ok(remote, 'GET', `${V1}/backfill/${enc(roomId)}?v=${enc(messages[2])}&limit=3`);
      assert.equal(page.origin, fed.serverName);
      assert.deepEqual(page.pdus.map((pdu: Pdu) => computeEventId(pdu, version)), [messages[2], messages[1], messages[0]]);

      const all = await ok(remote, 'GET', `${V1}/backfill/${enc(roomId)}?v=${enc(messages[2])}&limit=1000`);
      const ids = all.pdus.map((pdu: Pdu) => computeEventId(pdu, version));
      assert.deepEqual(new Set(ids), new Set(events.keys()), 'the whole room');
      assert.equal(all.pdus.at(-1).type, 'm.room.create');
      const depths = all.pdus.map((pdu: Pdu) => pdu.depth);
      assert.deepEqual(depths, [...depths].sort((a, b) => b - a));
      for (const pdu of all.pdus) assertSignedPdu(pdu, computeEventId(pdu, version), version);

      // Several `v`: each included, and the walk goes on from all of them.
      const two = await ok(remote, 'GET', `${V1}/backfill/${enc(roomId)}?v=${enc(messages[0])}&v=${enc(messages[2])}&limit=3`);
      const twoIds = two.pdus.map((pdu: Pdu) => computeEventId(pdu, version));
      assert.deepEqual(twoIds.slice(0, 2).sort(), [messages[0], messages[2]].sort());
      assert.equal(twoIds[2], messages[1]);
      assert.deepEqual((await ok(remote, 'GET', `${V1}/backfill/${enc(roomId)}?v=${enc(messages[2])}&limit=0`)).pdus, []);
    });

    it('checks its parameters and who asks', async () => {
      const { roomId, messages } = await sharedRoom();
      expectError(await get(remote, `${V1}/backfill/${enc(roomId)}?limit=10`), 400, 'M_MISSING_PARAM');
      expectError(await get(remote, `${V1}/backfill/${enc(roomId)}?v=${enc(messages[0])}`), 400, 'M_MISSING_PARAM');
      expectError(await get(remote, `${V1}/backfill/${enc(roomId)}?v=${enc(messages[0])}&limit=ten`), 400, 'M_INVALID_PARAM');
      expectError(await get(remote, `${V1}/backfill/${enc('!nowhere:localhost')}?v=x&limit=10`), 404, 'M_NOT_FOUND');
      expectError(await get(stranger, `${V1}/backfill/${enc(roomId)}?v=${enc(messages[0])}&limit=10`), 403, 'M_FORBIDDEN');
    });
  });

  describe('POST /get_missing_events', () => {
    it('returns the events between the earliest and latest, oldest first', async () => {
      const { roomId, messages, version } = await sharedRoom();
      const more = [await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'm3' }), await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'm4' })];
      const path = `${V1}/get_missing_events/${enc(roomId)}`;
      const { events } = await ok(remote, 'POST', path, { earliest_events: [messages[0]], latest_events: [more[1]] });
      assert.deepEqual(events.map((pdu: Pdu) => computeEventId(pdu, version)), [messages[1], messages[2], more[0]]);

      const limited = await ok(remote, 'POST', path, { earliest_events: [messages[0]], latest_events: [more[1]], limit: 2 });
      assert.deepEqual(limited.events.map((pdu: Pdu) => computeEventId(pdu, version)), [messages[2], more[0]], 'the nearest first, returned oldest first');

      const deep = (await fed.services.stores.events.get([messages[2]])).get(messages[2])!.depth;
      const shallow = await ok(remote, 'POST', path, { earliest_events: [], latest_events: [more[1]], min_depth: deep, limit: 50 });
      assert.deepEqual(shallow.events.map((pdu: Pdu) => computeEventId(pdu, version)), [messages[2], more[0]]);

      const defaults = await ok(remote, 'POST', path, { earliest_events: [], latest_events: [more[1]] });
      assert.equal(defaults.events.length, 10, 'limit defaults to 10');
      for (const pdu of defaults.events) assert.ok(prevEventIds(pdu).length > 0 || pdu.type === 'm.room.create');
    });

    it('validates the body and checks who asks', async () => {
      const { roomId, messages } = await sharedRoom();
      const path = `${V1}/get_missing_events/${enc(roomId)}`;
      expectError(await fed.request(remote, 'POST', path, { earliest_events: [] }), 400, 'M_MISSING_PARAM');
      expectError(await fed.request(remote, 'POST', path, { earliest_events: [], latest_events: 'x' }), 400, 'M_BAD_JSON');
      expectError(await fed.request(remote, 'POST', path, { earliest_events: [], latest_events: [], limit: 'ten' }), 400, 'M_BAD_JSON');
      expectError(await fed.request(stranger, 'POST', path, { earliest_events: [], latest_events: [messages[2]] }), 403, 'M_FORBIDDEN');
      expectError(await fed.request(remote, 'POST', `${V1}/get_missing_events/${enc('!no:localhost')}`, { earliest_events: [], latest_events: [] }), 404, 'M_NOT_FOUND');
    });
  });

  describe('GET /timestamp_to_event', () => {
    it('finds the closest event the server may see', async () => {
      const { roomId, messages } = await sharedRoom();
      const stored = (await fed.services.stores.events.get([messages[1]])).get(messages[1])!;
      const ts = stored.event.pdu.origin_server_ts;
      const found = await ok(remote, 'GET', `${V1}/timestamp_to_event/${enc(roomId)}?ts=${ts}&dir=b`);
      assert.equal(found.origin_server_ts <= ts, true);
      const first = await ok(remote, 'GET', `${V1}/timestamp_to_event/${enc(roomId)}?ts=0&dir=f`);
      assert.equal(first.event_id, `$${roomId.slice(1)}`, 'the create event (room version 12)');
      expectError(await get(remote, `${V1}/timestamp_to_event/${enc(roomId)}?ts=8000000000000&dir=f`), 404, 'M_NOT_FOUND');
      expectError(await get(remote, `${V1}/timestamp_to_event/${enc(roomId)}?ts=0&dir=x`), 400, 'M_INVALID_PARAM');
      expectError(await get(remote, `${V1}/timestamp_to_event/${enc(roomId)}?dir=f`), 400, 'M_MISSING_PARAM');
      expectError(await get(stranger, `${V1}/timestamp_to_event/${enc(roomId)}?ts=0&dir=f`), 403, 'M_FORBIDDEN');
    });
  });

  describe('server ACLs', () => {
    it('refuse a denied server on every room read with 403 M_FORBIDDEN, port or not', async () => {
      const { roomId, messages } = await sharedRoom();
      const reads = [
        `${V1}/event/${enc(messages[0])}`,
        `${V1}/state_ids/${enc(roomId)}?event_id=${enc(messages[0])}`,
        `${V1}/state/${enc(roomId)}?event_id=${enc(messages[0])}`,
        `${V1}/event_auth/${enc(roomId)}/${enc(messages[0])}`,
        `${V1}/backfill/${enc(roomId)}?v=${enc(messages[0])}&limit=5`,
        `${V1}/timestamp_to_event/${enc(roomId)}?ts=0&dir=f`,
      ];
      for (const path of reads) assert.equal((await get(remote, path)).status, 200, path);
      await setState(roomId, 'm.room.server_acl', { allow: ['*'], deny: ['REMOTE.example'] });
      for (const path of reads) expectError(await get(remote, path), 403, 'M_FORBIDDEN');
      expectError(await fed.request(remote, 'POST', `${V1}/get_missing_events/${enc(roomId)}`, { earliest_events: [], latest_events: [messages[2]] }), 403, 'M_FORBIDDEN');
      await setState(roomId, 'm.room.server_acl', { allow: ['*.example'], deny: [] });
      for (const path of reads) assert.equal((await get(remote, path)).status, 200, path);
    });

    it('apply to a server name with a port by its host', async () => {
      const roomId = await createRoom(fed.server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }] });
      const message = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'hello' });
      const path = `${V1}/event/${enc(message)}`;
      assert.equal((await get(stranger, path)).status, 200);
      await setState(roomId, 'm.room.server_acl', { allow: ['*'], deny: ['stranger.example'] });
      expectError(await get(stranger, path), 403, 'M_FORBIDDEN');
    });
  });

  it('counts a server as in the room by its users\' server names exactly, ports included', async () => {
    const roomId = await createRoom(fed.server, alice, { preset: 'public_chat' });
    const message = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'hi' });
    const path = `${V1}/backfill/${enc(roomId)}?v=${enc(message)}&limit=5`;
    // Users of look-alike servers do not make stranger.example:8448 a member.
    await joinRemoteUser(fed.services, remoteIdentity('stranger.example'), roomId, 'near');
    await joinRemoteUser(fed.services, remoteIdentity('stranger.example:84489'), roomId, 'far');
    await joinRemoteUser(fed.services, remoteIdentity('xstranger.example:8448'), roomId, 'x');
    expectError(await get(stranger, path), 403, 'M_FORBIDDEN');
    await joinRemoteUser(fed.services, stranger, roomId, 'eve');
    assert.equal((await get(stranger, path)).status, 200);
  });

  describe('history visibility', () => {
    it('lets any server read a world-readable room', async () => {
      const roomId = await createRoom(fed.server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }] });
      const message = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'for everyone' });
      const { pdus } = await ok(stranger, 'GET', `${V1}/event/${enc(message)}`);
      assert.equal(pdus[0].content.body, 'for everyone');
      const page = await ok(stranger, 'GET', `${V1}/backfill/${enc(roomId)}?v=${enc(message)}&limit=100`);
      assert.equal(page.pdus[0].content.body, 'for everyone');
      await ok(stranger, 'GET', `${V1}/state_ids/${enc(roomId)}?event_id=${enc(message)}`);
    });

    it('serves events from before the server joined a `joined` room redacted, and refuses the state there', async () => {
      const roomId = await createRoom(fed.server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
      const early = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'before bob' });
      const join = await joinRemoteUser(fed.services, remote, roomId);
      const late = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'after bob' });

      assert.deepEqual((await ok(remote, 'GET', `${V1}/event/${enc(early)}`)).pdus[0].content, {});
      assert.equal((await ok(remote, 'GET', `${V1}/event/${enc(late)}`)).pdus[0].content.body, 'after bob');
      assert.equal((await ok(remote, 'GET', `${V1}/event/${enc(join)}`)).pdus[0].content.membership, 'join', 'its own join');
      const page = await ok(remote, 'GET', `${V1}/backfill/${enc(roomId)}?v=${enc(late)}&limit=100`);
      const bodies = page.pdus.filter((pdu: Pdu) => pdu.type === 'm.room.message').map((pdu: Pdu) => pdu.content.body);
      assert.deepEqual(bodies, ['after bob', undefined]);
      expectError(await get(remote, `${V1}/state_ids/${enc(roomId)}?event_id=${enc(early)}`), 403, 'M_FORBIDDEN');
      await ok(remote, 'GET', `${V1}/state_ids/${enc(roomId)}?event_id=${enc(late)}`);
    });

    it('lets a server that has left read what it could see while joined, and nothing of the room as a whole', async () => {
      const roomId = await createRoom(fed.server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
      await joinRemoteUser(fed.services, remote, roomId, 'dave');
      const seen = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'while dave was here' });
      await appendRemoteEvent(fed.services, remote, roomId, { type: 'm.room.member', stateKey: '@dave:remote.example', sender: '@dave:remote.example', content: { membership: 'leave' } });
      const unseen = await send(fed.server, alice, roomId, { msgtype: 'm.text', body: 'after dave left' });
      assert.equal((await ok(remote, 'GET', `${V1}/event/${enc(seen)}`)).pdus[0].content.body, 'while dave was here');
      await ok(remote, 'GET', `${V1}/state_ids/${enc(roomId)}?event_id=${enc(seen)}`);
      expectError(await get(remote, `${V1}/event/${enc(unseen)}`), 403, 'M_FORBIDDEN');
      expectError(await get(remote, `${V1}/backfill/${enc(roomId)}?v=${enc(unseen)}&limit=5`), 403, 'M_FORBIDDEN');
    });
  });
});

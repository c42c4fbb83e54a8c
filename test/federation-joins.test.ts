/**
 * The membership handshakes between real Weft servers on loopback TLS
 * (test/helpers/federation-network.ts): users of B and C join rooms on A by
 * alias and by ID, are invited from A and accept or decline, knock, and
 * leave; the resident endpoints refuse what they must. Each server fetches
 * the others' keys over federation and checks every signature.
 */
import assert from 'node:assert/strict';
import type { Pdu, RoomEvent } from '../spec/pdu';
import { roomVersion } from '../spec/room-versions';
import { signEvent, signingKeyPair } from '../spec/signing';
import { parseSigningKey } from '../spec/signing-key';
import { computeEventId } from '../spec/event-hashes';
import { FederationError } from '../federation/client';
import { startFederatedServer, startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, enc, roomPath, send } from './helpers/rooms';
import { createUser, expectError, type Response, type TestServer, type TestUser } from './helpers/server';
import { joinedRoom, messageBodies, stateOf, sync, timelineOf, timelineWithin } from './helpers/sync';

const V3 = '/_matrix/client/v3';
const FED = '/_matrix/federation';

describe('federation: joining, leaving, inviting and knocking', function () {
  this.timeout(60_000);
  let a: FederatedServer;
  let b: FederatedServer;
  let c: FederatedServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let txn = 0;

  before(async () => {
    [a, b, c] = await startFederation(3);
    alice = await createUser(a, 'alice');
    bob = await createUser(b, 'bob');
    carol = await createUser(c, 'carol');
  });
  after(() => stopAll([a, b, c]));

  const post = (server: TestServer, user: TestUser, path: string, body: unknown = {}): Promise<Response> =>
    server.request('POST', path, { token: user.accessToken, body });

  async function ok(res: Response | Promise<Response>): Promise<any> {
    const answer = await res;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  }

  /** Resolves once `server` holds the events in its timeline: the federation sender of the server that made them delivered them. */
  async function arrives(server: FederatedServer, eventIds: string[]): Promise<void> {
    for (let tries = 0; tries < 100; tries++) {
      const stored = await server.hs.services.stores.events.get(eventIds);
      if (eventIds.every((id) => stored.get(id)?.status === 'accepted')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`${eventIds.join(', ')} did not reach ${server.name}`);
  }

  /** Resolves once `server` sees `userId`'s membership of the room as `membership`. */
  async function eventually(server: TestServer, roomId: string, userId: string, membership: string): Promise<void> {
    for (let tries = 0; tries < 100; tries++) {
      if ((await server.hs.services.stores.rooms.get(roomId)) && (await membershipOn(server, roomId, userId)) === membership) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`${userId} is not ${membership} on ${server.hs.config.server_name}`);
  }

  /** The event IDs of one user's membership events in a room, from a server's current state. */
  async function membershipOn(server: TestServer, roomId: string, userId: string): Promise<string | undefined> {
    return server.hs.services.stores.memberships.of(roomId, userId);
  }

  describe('joining a public room on another server', () => {
    let roomId: string;
    let alias: string;

    before(async () => {
      roomId = await createRoom(a, alice, { preset: 'public_chat', room_alias_name: 'lobby', name: 'Lobby', topic: 'all welcome' });
      alias = `#lobby:${a.name}`;
    });

    it("resolves the alias through A's directory", async () => {
      const resolved = await ok(b.request('GET', `${V3}/directory/room/${enc(alias)}`));
      assert.equal(resolved.room_id, roomId);
      assert.ok(resolved.servers.includes(a.name), JSON.stringify(resolved));
    });

    it("B's user joins by alias: B's /sync shows the room's state and the join, A's /sync shows B's user joined", async () => {
      const { next_batch: aliceSince } = await sync(a, alice);
      const { next_batch: bobSince } = await sync(b, bob);
      assert.equal((await ok(post(b, bob, `${V3}/join/${enc(alias)}`))).room_id, roomId);

      const bobSync = await sync(b, bob, { since: bobSince, timeout: 0 });
      const room = joinedRoom(bobSync, roomId);
      assert.ok(room, JSON.stringify(bobSync.rooms));
      const state = [...stateOf(bobSync, roomId), ...room.timeline.events];
      const stateOfType = (type: string, key = '') => state.find((e: any) => e.type === type && e.state_key === key);
      assert.equal(stateOfType('m.room.name').content.name, 'Lobby');
      assert.equal(stateOfType('m.room.topic').content.topic, 'all welcome');
      assert.equal(stateOfType('m.room.create').sender, alice.userId);
      assert.equal(stateOfType('m.room.member', alice.userId).content.membership, 'join');
      const join = room.timeline.events.at(-1);
      assert.equal(join.type, 'm.room.member');
      assert.equal(join.state_key, bob.userId);
      assert.equal(join.content.membership, 'join');

      const aliceTimeline = timelineOf(await sync(a, alice, { since: aliceSince, timeout: 0 }), roomId);
      assert.ok(aliceTimeline.some((e: any) => e.event_id === join.event_id && e.content.membership === 'join'), JSON.stringify(aliceTimeline));
      const members = await ok(a.request('GET', roomPath(roomId, '/joined_members'), { token: alice.accessToken }));
      assert.deepEqual(Object.keys(members.joined).sort(), [alice.userId, bob.userId].sort());
    });

    it("messages go both ways, each server sending its own, and reach the other side's long-polling /sync within a second", async () => {
      const { next_batch: bobSince } = await sync(b, bob);
      await send(a, alice, roomId, { msgtype: 'm.text', body: 'hello B' });
      assert.deepEqual(messageBodies(await timelineWithin(b, bob, bobSince, roomId, 1000)), ['hello B']);

      const { next_batch: aliceSince } = await sync(a, alice);
      await send(b, bob, roomId, { msgtype: 'm.text', body: 'hello A' });
      assert.deepEqual(messageBodies(await timelineWithin(a, alice, aliceSince, roomId, 1000)), ['hello A']);
    });

    it("C's user joins later by room ID with server_name, and sees B's user in the room", async () => {
      await ok(post(c, carol, `${V3}/join/${enc(roomId)}?server_name=${enc(a.name)}`));
      const members = await ok(c.request('GET', roomPath(roomId, '/joined_members'), { token: carol.accessToken }));
      assert.deepEqual(Object.keys(members.joined).sort(), [alice.userId, bob.userId, carol.userId].sort());
      const carolSync = await sync(c, carol);
      assert.ok(joinedRoom(carolSync, roomId), JSON.stringify(carolSync.rooms));
      assert.equal(await membershipOn(a, roomId, carol.userId), 'join');
      // A, the resident server C joined through, passes the join on to B.
      await eventually(b, roomId, carol.userId, 'join');
    });

    it("an invite of another of C's users, now that C is in the room: C takes it into its copy of the room", async () => {
      const carl = await createUser(c, 'carl');
      await ok(post(a, alice, roomPath(roomId, '/invite'), { user_id: carl.userId }));
      assert.equal(await membershipOn(c, roomId, carl.userId), 'invite');
      const invited = (await sync(c, carl)).rooms?.invite?.[roomId];
      assert.ok(invited, 'the room is in the invite section');
      assert.equal(invited.invite_state.events.find((e: any) => e.type === 'm.room.name')?.content.name, 'Lobby');

      // C is in the room: the join is made on C, as for any room it is in.
      await ok(post(c, carl, roomPath(roomId, '/join')));
      const join = (await c.hs.services.stores.roomState.currentStateEvent(roomId, 'm.room.member', carl.userId))!;
      await arrives(a, [join.id]);
      assert.equal(await membershipOn(a, roomId, carl.userId), 'join');
    });

    it("B's user leaves: the leave reaches A", async () => {
      await ok(post(b, bob, roomPath(roomId, '/leave')));
      const leave = (await b.hs.services.stores.roomState.currentStateEvent(roomId, 'm.room.member', bob.userId))!;
      assert.equal(leave.pdu.content.membership, 'leave');
      await arrives(a, [leave.id]);
      assert.equal(await membershipOn(a, roomId, bob.userId), 'leave');
    });

    it('B joins again through the room ID alone', async () => {
      await ok(post(b, bob, roomPath(roomId, '/join')));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'join');
      assert.equal(await membershipOn(b, roomId, bob.userId), 'join');
    });
  });

  describe('invites', () => {
    it("an invite of B's user from A shows in B's /sync invite section, and B's user accepts it", async () => {
      const roomId = await createRoom(a, alice, { preset: 'private_chat', name: 'Secret' });
      const { next_batch: since } = await sync(b, bob);
      await ok(post(a, alice, roomPath(roomId, '/invite'), { user_id: bob.userId }));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'invite');

      const invited = (await sync(b, bob, { since, timeout: 0 })).rooms?.invite?.[roomId];
      assert.ok(invited, 'the room is in the invite section');
      const events = invited.invite_state.events;
      assert.equal(events.find((e: any) => e.type === 'm.room.name')?.content.name, 'Secret');
      assert.ok(events.some((e: any) => e.type === 'm.room.create'), JSON.stringify(events));
      const invite = events.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId);
      assert.equal(invite.content.membership, 'invite');
      assert.equal(invite.sender, alice.userId);
      // The copy A stored carries B's signature.
      const onA = (await a.hs.services.stores.roomState.currentStateEvent(roomId, 'm.room.member', bob.userId))!;
      assert.ok(onA.pdu.signatures[b.name], JSON.stringify(onA.pdu.signatures));

      await ok(post(b, bob, roomPath(roomId, '/join')));
      const joined = await sync(b, bob, { since, timeout: 0 });
      assert.ok(joinedRoom(joined, roomId), JSON.stringify(joined.rooms));
      assert.equal(joined.rooms.invite?.[roomId], undefined);
      assert.equal(await membershipOn(a, roomId, bob.userId), 'join');
    });

    it("B's user declines an invite: the room moves to B's leave section and A sees the leave", async () => {
      const roomId = await createRoom(a, alice, { preset: 'private_chat' });
      await ok(post(a, alice, roomPath(roomId, '/invite'), { user_id: bob.userId }));
      const { next_batch: since } = await sync(b, bob);
      assert.ok((await sync(b, bob)).rooms?.invite?.[roomId]);
      await ok(post(b, bob, roomPath(roomId, '/leave'), { reason: 'no thanks' }));
      const after = await sync(b, bob, { since, timeout: 0 });
      assert.ok(after.rooms?.leave?.[roomId], JSON.stringify(after.rooms));
      assert.equal((await sync(b, bob)).rooms?.invite?.[roomId], undefined);
      assert.equal(await membershipOn(a, roomId, bob.userId), 'leave');
      assert.equal((await a.hs.services.stores.roomState.currentStateEvent(roomId, 'm.room.member', bob.userId))!.pdu.content.reason, 'no thanks');

      // B is not in the room: what A sends of it is refused.
      const message = await send(a, alice, roomId, { msgtype: 'm.text', body: 'not for B' });
      const pdu = (await a.hs.services.stores.events.get([message])).get(message)!.event.pdu;
      const answer = await a.hs.federation.client.put<any>(b.name, `${FED}/v1/send/push${++txn}`, { origin: a.name, origin_server_ts: Date.now(), pdus: [pdu] });
      assert.match(answer.pdus[message].error, /not in the room/);
      assert.equal((await b.hs.services.stores.events.get([message])).size, 0);
    });

    it('declining an invite from a server that has gone: the invite is declined here all the same', async () => {
      const d = await startFederatedServer();
      let dStopped = false;
      try {
        const dave = await createUser(d, 'dave');
        const roomId = await createRoom(d, dave, { preset: 'private_chat', room_version: '11' });
        await ok(post(d, dave, roomPath(roomId, '/invite'), { user_id: bob.userId }));
        const { next_batch: since } = await sync(b, bob);
        assert.ok((await sync(b, bob)).rooms?.invite?.[roomId]);
        await d.stop();
        dStopped = true;
        await ok(post(b, bob, roomPath(roomId, '/leave')));
        assert.equal(await membershipOn(b, roomId, bob.userId), 'leave');
        assert.ok((await sync(b, bob, { since, timeout: 0 })).rooms?.leave?.[roomId]);
      } finally {
        if (!dStopped) await d.stop();
      }
    });

    it('createRoom invites other servers\' users too', async () => {
      const roomId = await createRoom(a, alice, { preset: 'trusted_private_chat', is_direct: true, invite: [bob.userId, carol.userId] });
      for (const [server, user] of [[b, bob], [c, carol]] as const) {
        const invited = (await sync(server, user)).rooms?.invite?.[roomId];
        assert.ok(invited, `${user.userId} is invited`);
        assert.equal(invited.invite_state.events.find((e: any) => e.state_key === user.userId).content.is_direct, true);
      }
    });
  });

  describe('knocking', () => {
    it("B's user knocks on a knock room on A, shows in B's knock section, and is let in by an invite", async () => {
      const roomId = await createRoom(a, alice, { room_version: '10', preset: 'private_chat', name: 'Knock here', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
      const { next_batch: since } = await sync(b, bob);
      await ok(post(b, bob, `${V3}/knock/${enc(roomId)}?via=${enc(a.name)}`, { reason: 'let me in' }));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'knock');

      const knocked = (await sync(b, bob, { since, timeout: 0 })).rooms?.knock?.[roomId];
      assert.ok(knocked, 'the room is in the knock section');
      const events = knocked.knock_state.events;
      assert.equal(events.find((e: any) => e.type === 'm.room.join_rules')?.content.join_rule, 'knock');
      assert.equal(events.find((e: any) => e.type === 'm.room.name')?.content.name, 'Knock here');
      assert.equal(events.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId)?.content.membership, 'knock');

      await ok(post(a, alice, roomPath(roomId, '/invite'), { user_id: bob.userId }));
      assert.ok((await sync(b, bob)).rooms?.invite?.[roomId], 'the knock was answered with an invite');
      await ok(post(b, bob, roomPath(roomId, '/join')));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'join');
    });

    it("B's user knocks on a knock_restricted room and retracts the knock", async () => {
      const roomId = await createRoom(a, alice, { room_version: '10', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock_restricted', allow: [] } }] });
      await ok(post(b, bob, `${V3}/knock/${enc(roomId)}?via=${enc(a.name)}`));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'knock');
      await ok(post(b, bob, roomPath(roomId, '/leave')));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'leave');
      assert.equal(await membershipOn(b, roomId, bob.userId), 'leave');
    });

    it('refuses a knock on a room whose join rule does not allow knocking: 403', async () => {
      const roomId = await createRoom(a, alice, { room_version: '10', preset: 'private_chat' });
      expectError(await post(b, bob, `${V3}/knock/${enc(roomId)}?via=${enc(a.name)}`), 403, 'M_FORBIDDEN');
    });
  });

  describe('room versions 1 and 2 (event IDs of their own, references with hashes)', () => {
    it("B's user joins a version 1 room, is invited to a version 2 room and accepts", async () => {
      const v1 = await createRoom(a, alice, { preset: 'public_chat', room_version: '1' });
      await ok(post(b, bob, `${V3}/join/${enc(v1)}?via=${enc(a.name)}`));
      const join = (await b.hs.services.stores.roomState.currentStateEvent(v1, 'm.room.member', bob.userId))!;
      assert.ok(join.pdu.event_id?.endsWith(`:${b.name}`), JSON.stringify(join.pdu));
      assert.equal(await membershipOn(a, v1, bob.userId), 'join');
      const message = await send(a, alice, v1, { msgtype: 'm.text', body: 'in version 1' });
      await arrives(b, [message]);

      const v2 = await createRoom(a, alice, { preset: 'private_chat', room_version: '2' });
      await ok(post(a, alice, roomPath(v2, '/invite'), { user_id: bob.userId }));
      assert.ok((await sync(b, bob)).rooms?.invite?.[v2]);
      await ok(post(b, bob, roomPath(v2, '/join')));
      assert.equal(await membershipOn(a, v2, bob.userId), 'join');
    });
  });

  describe('restricted rooms', () => {
    it("A vouches for B's user who is in an allowed room: a member of A authorises the join and A countersigns it", async () => {
      const space = await createRoom(a, alice, { room_version: '10', preset: 'public_chat' });
      await ok(post(b, bob, `${V3}/join/${enc(space)}?via=${enc(a.name)}`));
      const roomId = await createRoom(a, alice, {
        room_version: '10',
        initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
      });
      await ok(post(b, bob, `${V3}/join/${enc(roomId)}?via=${enc(a.name)}`));
      const join = (await b.hs.services.stores.roomState.currentStateEvent(roomId, 'm.room.member', bob.userId))!;
      assert.equal(join.pdu.content.join_authorised_via_users_server, alice.userId);
      assert.ok(join.pdu.signatures[a.name] && join.pdu.signatures[b.name], JSON.stringify(join.pdu.signatures));
      assert.equal(await membershipOn(a, roomId, bob.userId), 'join');

      // C's user is in no allowed room.
      expectError(await post(c, carol, `${V3}/join/${enc(roomId)}?via=${enc(a.name)}`), 403, 'M_FORBIDDEN');
    });
  });

  describe('what the resident server refuses', () => {
    let roomId: string;
    before(async () => {
      roomId = await createRoom(a, alice, { preset: 'public_chat', room_version: '11' });
    });

    const makeJoin = (from: FederatedServer, room: string, userId: string, ver: string[] | undefined) =>
      from.hs.federation.client.get<any>(a.name, `${FED}/v1/make_join/${enc(room)}/${enc(userId)}`, { query: { ver } });

    /** B's join event signed from A's template, as B's server would make it. */
    async function signedJoin(room: string, userId: string, change: (pdu: Record<string, unknown>) => void = () => {}): Promise<RoomEvent> {
      const { room_version: versionId, event: template } = await makeJoin(b, room, userId, ['11']);
      const version = roomVersion(versionId)!;
      const pdu: Record<string, unknown> = { ...template, origin: b.name, origin_server_ts: Date.now() };
      change(pdu);
      const signed = signEvent(pdu, version, b.name, signingKeyPair(parseSigningKey(b.config.signing_key))) as unknown as Pdu;
      return { id: computeEventId(signed, version), pdu: signed };
    }

    const sendJoin = (room: string, eventId: string, pdu: unknown, from = b) =>
      from.hs.federation.client.put<any>(a.name, `${FED}/v2/send_join/${enc(room)}/${enc(eventId)}`, pdu);

    const rejects = (promise: Promise<unknown>, status: number, errcode: string) =>
      assert.rejects(promise, (err: FederationError) => {
        assert.equal(err.status, status, err.message);
        assert.equal(err.errcode, errcode, err.message);
        return true;
      });

    it('make_join for a room version the joining server lacks: 400 M_INCOMPATIBLE_ROOM_VERSION with the room version', async () => {
      await assert.rejects(makeJoin(b, roomId, bob.userId, ['1', '2']), (err: FederationError) => {
        assert.equal(err.status, 400);
        assert.equal(err.errcode, 'M_INCOMPATIBLE_ROOM_VERSION');
        assert.equal((err.body as any).room_version, '11');
        return true;
      });
      // Without `ver`, only version 1 is supported.
      await rejects(makeJoin(b, roomId, bob.userId, undefined), 400, 'M_INCOMPATIBLE_ROOM_VERSION');
    });

    it("make_join for another server's user, or for a room A is not in: 403, 404", async () => {
      await rejects(makeJoin(b, roomId, carol.userId, ['11']), 403, 'M_FORBIDDEN');
      await rejects(makeJoin(b, `!nowhere:${a.name}`, bob.userId, ['11']), 404, 'M_NOT_FOUND');
    });

    it('a send_join whose event is not the join asked for: 400', async () => {
      const join = await signedJoin(roomId, bob.userId);
      const other = await signedJoin(roomId, bob.userId, (pdu) => (pdu.content = { membership: 'join', displayname: 'someone else' }));
      await rejects(sendJoin(roomId, other.id, join.pdu), 400, 'M_INVALID_PARAM');
      const leave = await signedJoin(roomId, bob.userId, (pdu) => (pdu.content = { membership: 'leave' }));
      await rejects(sendJoin(roomId, leave.id, leave.pdu), 400, 'M_INVALID_PARAM');
      const forOther = await signedJoin(roomId, bob.userId, (pdu) => (pdu.state_key = alice.userId));
      await rejects(sendJoin(roomId, forOther.id, forOther.pdu), 400, 'M_INVALID_PARAM');
      // C relays B's join: the sender is not C's user.
      await rejects(sendJoin(roomId, join.id, join.pdu, c), 400, 'M_INVALID_PARAM');
      assert.equal(await membershipOn(a, roomId, bob.userId), undefined);
    });

    it('v1 send_join answers [200, {state, auth_chain}], and A passes the join on; make_knock without ver: 400 M_MISSING_PARAM', async () => {
      await ok(post(c, carol, `${V3}/join/${enc(roomId)}`));
      const join = await signedJoin(roomId, bob.userId);
      const answer = await b.hs.federation.client.put<any>(a.name, `${FED}/v1/send_join/${enc(roomId)}/${enc(join.id)}`, join.pdu);
      assert.equal(answer[0], 200);
      assert.ok(answer[1].state.some((e: any) => e.type === 'm.room.create'), JSON.stringify(answer));
      assert.ok(Array.isArray(answer[1].auth_chain));
      assert.deepEqual(answer[1].servers_in_room.sort(), [a.name, c.name].sort());
      // B never stored its join (the test played B), so only A can have sent it to C.
      await eventually(c, roomId, bob.userId, 'join');
      await rejects(b.hs.federation.client.get(a.name, `${FED}/v1/make_knock/${enc(roomId)}/${enc(bob.userId)}`), 400, 'M_MISSING_PARAM');
    });

    it('v2 send_join with omit_members: no membership events but the heroes, no state events in the auth chain, the servers in the room', async () => {
      const sendJoinOmitting = (room: string, join: RoomEvent, omit: string) =>
        b.hs.federation.client.put<any>(a.name, `${FED}/v2/send_join/${enc(room)}/${enc(join.id)}`, join.pdu, { query: { omit_members: omit } });
      const unnamed = await createRoom(a, alice, { preset: 'public_chat', room_version: '11' });
      const locals = [];
      for (let i = 1; i <= 6; i++) {
        const user = await createUser(a, `omitted${i}`);
        await ok(post(a, user, `${V3}/join/${enc(unnamed)}`));
        locals.push(user.userId);
      }
      await ok(post(c, carol, `${V3}/join/${enc(unnamed)}`));

      await rejects(sendJoinOmitting(unnamed, await signedJoin(unnamed, bob.userId), 'yes'), 400, 'M_INVALID_PARAM');
      const answer = await sendJoinOmitting(unnamed, await signedJoin(unnamed, bob.userId), 'true');
      assert.equal(answer.members_omitted, true);
      assert.deepEqual(answer.servers_in_room.sort(), [a.name, c.name].sort());
      const members = answer.state.filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key);
      // The room has no name: the first five members stay, for the joining server to name it after.
      assert.deepEqual(members.sort(), [alice.userId, ...locals.slice(0, 4)].sort());
      assert.ok(answer.state.some((e: any) => e.type === 'm.room.power_levels'));
      const stateIds = new Set(answer.state.map((e: any) => computeEventId(e, roomVersion('11')!)));
      assert.ok(answer.auth_chain.every((e: any) => !stateIds.has(computeEventId(e, roomVersion('11')!))));

      // A named room: no membership events at all; without the option, all of them.
      await ok(a.request('PUT', roomPath(unnamed, '/state/m.room.name/'), { token: alice.accessToken, body: { name: 'Named' } }));
      const named = await sendJoinOmitting(unnamed, await signedJoin(unnamed, bob.userId), 'true');
      assert.deepEqual(named.state.filter((e: any) => e.type === 'm.room.member'), []);
      // The state's events need alice's join, which the state no longer holds: the auth chain does.
      assert.ok(named.auth_chain.some((e: any) => e.type === 'm.room.member' && e.state_key === alice.userId), JSON.stringify(named.auth_chain.map((e: any) => e.type)));
      const whole = await sendJoinOmitting(unnamed, await signedJoin(unnamed, bob.userId), 'false');
      assert.equal(whole.members_omitted, false);
      assert.equal(whole.state.filter((e: any) => e.type === 'm.room.member' && e.content.membership === 'join').length, 9);
    });

    it('a send_join with a forged signature: 400, nothing stored', async () => {
      const join = await signedJoin(roomId, bob.userId);
      const forged = { ...join.pdu, signatures: { [b.name]: { [Object.keys(join.pdu.signatures[b.name])[0]]: 'A'.repeat(86) } } };
      await rejects(sendJoin(roomId, join.id, forged), 400, 'M_INVALID_PARAM');
      assert.equal((await a.hs.services.stores.events.get([join.id])).size, 0);
    });

    it('an invite-only room: 403 M_FORBIDDEN to the client', async () => {
      const privateRoom = await createRoom(a, alice, { preset: 'private_chat' });
      expectError(await post(b, bob, `${V3}/join/${enc(privateRoom)}?server_name=${enc(a.name)}`), 403, 'M_FORBIDDEN');
      // A version 12 room's ID names no server: with no server to ask, the room is unknown.
      expectError(await post(b, bob, roomPath(privateRoom, '/join')), 404, 'M_NOT_FOUND');
      // Before 12, the room ID's server is asked.
      const olderRoom = await createRoom(a, alice, { preset: 'private_chat', room_version: '11' });
      expectError(await post(b, bob, roomPath(olderRoom, '/join')), 403, 'M_FORBIDDEN');
    });

    it('an unknown alias: 404 M_NOT_FOUND', async () => {
      expectError(await post(b, bob, `${V3}/join/${enc(`#nothing:${a.name}`)}`), 404, 'M_NOT_FOUND');
      expectError(await b.request('GET', `${V3}/directory/room/${enc(`#nothing:${a.name}`)}`), 404, 'M_NOT_FOUND');
    });

    it("a server the room's ACL denies: 403 on make_join and send_join", async () => {
      const aclRoom = await createRoom(a, alice, { preset: 'public_chat', room_version: '11' });
      const join = await signedJoin(aclRoom, bob.userId);
      await ok(a.request('PUT', roomPath(aclRoom, '/state/m.room.server_acl/'), { token: alice.accessToken, body: { allow: ['*'], deny: ['127.0.0.1'] } }));
      await rejects(makeJoin(b, aclRoom, bob.userId, ['11']), 403, 'M_FORBIDDEN');
      await rejects(sendJoin(aclRoom, join.id, join.pdu), 403, 'M_FORBIDDEN');
      expectError(await post(b, bob, `${V3}/join/${enc(aclRoom)}?via=${enc(a.name)}`), 403, 'M_FORBIDDEN');
    });

    it("an invite of a user the invited server does not have: its 403 reaches the inviter, and nothing is stored", async () => {
      const room = await createRoom(a, alice, { preset: 'private_chat', room_version: '11' });
      const nobody = `@nobody:${b.name}`;
      expectError(await post(a, alice, roomPath(room, '/invite'), { user_id: nobody }), 403, 'M_FORBIDDEN');
      assert.equal(await membershipOn(a, room, nobody), undefined);
    });
  });

  describe('profiles', () => {
    it("GET /profile for another server's user asks their server", async () => {
      await ok(b.request('PUT', `${V3}/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: 'Bob of B' } }));
      assert.deepEqual(await ok(a.request('GET', `${V3}/profile/${enc(bob.userId)}`)), { displayname: 'Bob of B' });
      assert.deepEqual(await ok(a.request('GET', `${V3}/profile/${enc(bob.userId)}/displayname`)), { displayname: 'Bob of B' });
      expectError(await a.request('GET', `${V3}/profile/${enc(`@nobody:${b.name}`)}`), 404, 'M_NOT_FOUND');
    });
  });
});

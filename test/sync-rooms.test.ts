/**
 * The rooms of /sync through the HTTP API: which section a room is in as
 * memberships change (invite, join, leave, ban, knock, forget), history
 * visibility and ignored users in timelines, room filters, and lazy-loaded
 * members.
 */
import assert from 'node:assert/strict';
import { createRoom, enc, join, roomPath, send } from './helpers/rooms';
import { createUser, startServer, type TestServer, type TestUser } from './helpers/server';
import { joinedRoom, messageBodies, settledWithin, stateOf, sync, timelineOf } from './helpers/sync';
import { ignore, invite, leave, setState } from './helpers/timeline';

describe('/sync rooms', () => {
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

  const post = async (user: TestUser, path: string, body: object = {}) => {
    const res = await server.request('POST', path, { token: user.accessToken, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  describe('memberships', () => {
    it('an invite wakes the invitee and comes with stripped state naming the room and the inviter', async () => {
      const roomId = await createRoom(server, alice, { name: 'Invited to' });
      const { next_batch: since } = await sync(server, bob);
      const waiting = sync(server, bob, { since, timeout: 10_000 });
      await settledWithin(waiting, 100);
      await invite(server, alice, roomId, bob);
      const body = await waiting;
      const state = body.rooms.invite[roomId].invite_state.events;
      assert.ok(state.every((e: any) => Object.keys(e).sort().join() === 'content,sender,state_key,type'));
      assert.equal(state.find((e: any) => e.type === 'm.room.create').sender, alice.userId);
      assert.equal(state.find((e: any) => e.type === 'm.room.name').content.name, 'Invited to');
      assert.deepEqual(state.find((e: any) => e.type === 'm.room.member' && e.state_key === bob.userId).content.membership, 'invite');
      assert.equal(joinedRoom(body, roomId), undefined);
      // An initial sync lists current invites too.
      assert.ok((await sync(server, bob)).rooms.invite[roomId]);
    });

    it('joining moves the room to join with its whole state and latest events', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat', topic: 'Joined' });
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'before bob' });
      const { next_batch: since } = await sync(server, bob);
      await join(server, bob, roomId);
      const room = joinedRoom(await sync(server, bob, { since }), roomId);
      assert.ok(messageBodies(room.timeline.events).includes('before bob'), 'shared history is visible to a new member');
      assert.equal(room.timeline.events.at(-1).state_key, bob.userId);
      const stateTypes = [...room.state?.events ?? [], ...room.timeline.events].map((e: any) => e.type);
      for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.topic']) assert.ok(stateTypes.includes(type), type);
      assert.equal(room.summary['m.joined_member_count'], 2);
      assert.deepEqual(room.summary['m.heroes'], [alice.userId], 'an unnamed room is named after its other members');
    });

    it('leaving moves the room to leave with the events up to the leave, and nothing after', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, bob, roomId);
      const { next_batch: since } = await sync(server, bob);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'before leaving' });
      await leave(server, bob, roomId);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'after leaving' });
      const body = await sync(server, bob, { since });
      const left = body.rooms.leave[roomId];
      assert.deepEqual(messageBodies(left.timeline.events), ['before leaving']);
      assert.equal(left.timeline.events.at(-1).content.membership, 'leave');
      assert.equal(joinedRoom(body, roomId), undefined);
      // Later syncs do not mention the room, and events there do not wake Bob.
      const quiet = sync(server, bob, { since: body.next_batch, timeout: 10_000 });
      await settledWithin(quiet, 100);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'still not for bob' });
      assert.equal(await settledWithin(quiet, 400), 'pending');
    });

    it('a ban is a leave too; initial syncs list old leaves only with include_leave, and never forgotten rooms', async () => {
      const banned = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, carol, banned);
      const { next_batch: since } = await sync(server, carol);
      await post(alice, roomPath(banned, '/ban'), { user_id: carol.userId, reason: 'test' });
      const body = await sync(server, carol, { since });
      assert.equal(body.rooms.leave[banned].timeline.events.at(-1).content.membership, 'ban');

      assert.equal((await sync(server, carol)).rooms?.leave?.[banned], undefined);
      const withLeaves = await sync(server, carol, { filter: { room: { include_leave: true } } });
      assert.ok(withLeaves.rooms.leave[banned]);
      await post(carol, roomPath(banned, '/forget'));
      assert.equal((await sync(server, carol, { filter: { room: { include_leave: true } } })).rooms?.leave?.[banned], undefined);
    });

    it('a rejected invite moves from invite to leave', async () => {
      const roomId = await createRoom(server, alice, {});
      await invite(server, alice, roomId, carol);
      const { next_batch: since } = await sync(server, carol);
      await leave(server, carol, roomId);
      const body = await sync(server, carol, { since });
      assert.equal(body.rooms.leave[roomId].timeline.events.at(-1).content.membership, 'leave');
      assert.equal(body.rooms.invite, undefined);
    });

    it('a knock is listed under knock with stripped state', async () => {
      const roomId = await createRoom(server, alice, { room_version: '10', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
      const { next_batch: since } = await sync(server, carol);
      await post(carol, `/_matrix/client/v3/knock/${enc(roomId)}`, { reason: 'let me in' });
      const knock = (await sync(server, carol, { since })).rooms.knock[roomId];
      const own = knock.knock_state.events.find((e: any) => e.type === 'm.room.member');
      assert.equal(own.content.membership, 'knock');
      assert.equal(knock.knock_state.events.find((e: any) => e.type === 'm.room.join_rules').content.join_rule, 'knock');
    });
  });

  describe('timelines', () => {
    it('a new member of a joined-only room sees nothing from before their join', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'secret' });
      await join(server, bob, roomId);
      await send(server, alice, roomId, { msgtype: 'm.text', body: 'public' });
      const events = timelineOf(await sync(server, bob), roomId);
      assert.deepEqual(messageBodies(events), ['public']);
    });

    it('leaves out messages of ignored users, but not their state events; ignoring takes effect at once', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, carol, roomId);
      await join(server, bob, roomId);
      await ignore(server, bob, [carol]);
      const { next_batch: since } = await sync(server, bob);
      await send(server, carol, roomId, { msgtype: 'm.text', body: 'ignored' });
      await setState(server, alice, roomId, 'm.room.topic', { topic: 'seen' });
      const events = timelineOf(await sync(server, bob, { since }), roomId);
      assert.deepEqual(events.map((e: any) => e.type), ['m.room.topic']);
      await ignore(server, bob, []);
    });

    it('does not list invites from ignored users', async () => {
      const dave = await createUser(server, 'dave');
      await ignore(server, dave, [alice]);
      const roomId = await createRoom(server, alice, {});
      await invite(server, alice, roomId, dave);
      assert.equal((await sync(server, dave)).rooms?.invite?.[roomId], undefined);
    });
  });

  describe('filters', () => {
    let roomA: string;
    let roomB: string;

    before(async () => {
      roomA = await createRoom(server, alice, { preset: 'public_chat', name: 'A' });
      roomB = await createRoom(server, alice, { preset: 'public_chat', name: 'B' });
      await join(server, bob, roomA);
      await join(server, bob, roomB);
      await send(server, alice, roomA, { msgtype: 'm.text', body: 'from alice' });
      await send(server, bob, roomA, { msgtype: 'm.text', body: 'from bob' });
      await send(server, alice, roomA, { msgtype: 'm.notice', body: 'a notice' }, 'org.example.custom');
    });

    it('rooms and not_rooms choose the rooms', async () => {
      const only = await sync(server, alice, { filter: { room: { rooms: [roomA] } } });
      assert.deepEqual(Object.keys(only.rooms.join), [roomA]);
      const without = await sync(server, alice, { filter: { room: { not_rooms: [roomA] } } });
      assert.ok(joinedRoom(without, roomB) && !joinedRoom(without, roomA));
    });

    it('timeline types, not_types and senders choose the events', async () => {
      const types = timelineOf(await sync(server, alice, { filter: { room: { rooms: [roomA], timeline: { types: ['m.room.message'] } } } }), roomA);
      assert.deepEqual(messageBodies(types), ['from alice', 'from bob']);
      assert.ok(types.every((e: any) => e.type === 'm.room.message'));
      const notTypes = timelineOf(await sync(server, alice, { filter: { room: { rooms: [roomA], timeline: { not_types: ['m.room.*'] } } } }), roomA);
      assert.deepEqual(notTypes.map((e: any) => e.type), ['org.example.custom']);
      const senders = timelineOf(await sync(server, alice, { filter: { room: { rooms: [roomA], timeline: { senders: [bob.userId], types: ['m.room.message'] } } } }), roomA);
      assert.deepEqual(messageBodies(senders), ['from bob']);
    });

    it('state types choose the state events', async () => {
      const body = await sync(server, alice, { filter: { room: { rooms: [roomA], timeline: { limit: 1 }, state: { types: ['m.room.name'] } } } });
      assert.deepEqual(stateOf(body, roomA).map((e: any) => e.type), ['m.room.name']);
    });

    it('lazy-loading sends only the members of the timeline senders and the user, and not again unless asked', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat', name: 'Named, so no heroes' });
      await join(server, bob, roomId);
      await join(server, carol, roomId);
      await send(server, bob, roomId, { msgtype: 'm.text', body: 'bob speaks' });
      const lazy = { room: { rooms: [roomId], timeline: { limit: 1 }, state: { lazy_load_members: true } } };
      const first = await sync(server, alice, { filter: lazy });
      const members = (body: any) => stateOf(body, roomId).filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key).sort();
      assert.deepEqual(members(first), [alice.userId, bob.userId].sort());
      assert.ok(stateOf(first, roomId).some((e: any) => e.type === 'm.room.create'));

      await send(server, bob, roomId, { msgtype: 'm.text', body: 'bob again' });
      await send(server, carol, roomId, { msgtype: 'm.text', body: 'carol speaks' });
      const next = await sync(server, alice, { since: first.next_batch, filter: { room: { ...lazy.room, timeline: { limit: 10 } } } });
      assert.deepEqual(members(next), [carol.userId], 'bob was sent already; carol is new');

      await send(server, bob, roomId, { msgtype: 'm.text', body: 'bob a third time' });
      const redundant = { room: { ...lazy.room, state: { lazy_load_members: true, include_redundant_members: true } } };
      const again = await sync(server, alice, { since: next.next_batch, filter: redundant });
      assert.deepEqual(members(again), [bob.userId]);
    });

    it('lazy-loading sends the members an unnamed room is named after (its heroes)', async () => {
      const roomId = await createRoom(server, alice, { preset: 'public_chat' });
      await join(server, carol, roomId);
      const body = await sync(server, alice, { filter: { room: { rooms: [roomId], timeline: { limit: 1 }, state: { lazy_load_members: true } } } });
      assert.deepEqual(joinedRoom(body, roomId).summary['m.heroes'], [carol.userId]);
      const members = [...stateOf(body, roomId), ...timelineOf(body, roomId)].filter((e: any) => e.type === 'm.room.member').map((e: any) => e.state_key);
      assert.ok(members.includes(carol.userId) && members.includes(alice.userId));
    });
  });
});

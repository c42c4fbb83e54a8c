/**
 * Three real servers change a room's state at the same moment (a ban against a
 * power level change, two topic edits): once every event has travelled, the
 * three hold the same current state.
 */
import assert from 'node:assert/strict';
import { startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, enc, roomPath } from './helpers/rooms';
import { createUser, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';

describe('federation: concurrent state changes on three servers converge', function () {
  this.timeout(60_000);
  let servers: FederatedServer[];

  before(async () => {
    servers = await startFederation(3);
  });
  after(() => stopAll(servers));

  const currentState = async (server: FederatedServer, roomId: string) => new Map([...(await server.hs.services.stores.roomState.currentState(roomId))].sort());

  /** Waits until the three servers hold the same current state, in which `settled` holds; returns it. */
  async function converged(roomId: string, settled: (state: Map<string, string>) => boolean): Promise<Map<string, string>> {
    let states: Map<string, string>[] = [];
    for (let tries = 0; tries < 200; tries++) {
      states = await Promise.all(servers.map((server) => currentState(server, roomId)));
      const [first, ...rest] = states.map((state) => JSON.stringify([...state]));
      if (rest.every((s) => s === first) && settled(states[0])) return states[0];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`the servers did not converge: ${JSON.stringify(states.map((s) => [...s].filter(([k]) => !k.startsWith('m.room.member'))))}`);
  }

  it('ends with one topic, and with the ban and the power levels resolved alike, on all three', async () => {
    const [a, b, c] = servers;
    const alice = await createUser(a, 'alice');
    const bob = await createUser(b, 'bob');
    const carol = await createUser(c, 'carol');
    // C keeps a member after carol's ban, so it stays in the room and keeps receiving its events.
    const carl = await createUser(c, 'carl');
    const roomId = await createRoom(a, alice, { preset: 'public_chat', room_alias_name: 'converge' });
    for (const [server, user] of [[b, bob], [c, carol], [c, carl]] as [FederatedServer, TestUser][]) {
      const joined = await server.request('POST', `${V3}/join/${enc(`#converge:${a.name}`)}`, { token: user.accessToken, body: {} });
      assert.equal(joined.status, 200, JSON.stringify(joined.body));
    }
    const levels = (await a.request('GET', roomPath(roomId, '/state/m.room.power_levels/'), { token: alice.accessToken })).body;
    const raised = await a.request('PUT', roomPath(roomId, '/state/m.room.power_levels/'), {
      token: alice.accessToken,
      body: { ...levels, users: { ...levels.users, [bob.userId]: 100 } },
    });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    await converged(roomId, (state) => state.has(`m.room.member\u0000${carl.userId}`) && state.get('m.room.power_levels\u0000') === raised.body.event_id);

    // At once: alice (A) bans carol while bob (B) gives carol power; alice and bob each set a topic.
    const put = (server: FederatedServer, user: TestUser, type: string, stateKey: string, body: unknown) =>
      server.request('PUT', roomPath(roomId, `/state/${type}/${stateKey}`), { token: user.accessToken, body });
    const [ban, power, topicA, topicB] = await Promise.all([
      a.request('POST', roomPath(roomId, '/ban'), { token: alice.accessToken, body: { user_id: carol.userId } }),
      put(b, bob, 'm.room.power_levels', '', { ...levels, users: { ...levels.users, [bob.userId]: 100, [carol.userId]: 50 } }),
      put(a, alice, 'm.room.topic', '', { topic: 'from A' }),
      put(b, bob, 'm.room.topic', '', { topic: 'from B' }),
    ]);
    for (const res of [ban, power, topicA, topicB]) assert.equal(res.status, 200, JSON.stringify(res.body));

    const final = await converged(
      roomId,
      (state) => [topicA.body.event_id, topicB.body.event_id].includes(state.get('m.room.topic\u0000')) && state.get(`m.room.member\u0000${carol.userId}`) !== undefined,
    );
    const carolsMembership = (await a.request('GET', roomPath(roomId, `/state/m.room.member/${enc(carol.userId)}`), { token: alice.accessToken })).body.membership;
    assert.equal(carolsMembership, 'ban', 'the ban stands: bob could not undo it by raising carol');
    for (const server of servers) assert.deepEqual(await currentState(server, roomId), final);
  });
});

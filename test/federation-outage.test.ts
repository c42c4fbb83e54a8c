/**
 * Nothing lost through an outage: B's user is in a room on A; B goes down, A's
 * users keep talking, B comes back on the same address and database and
 * receives everything, in order, from A's persistent queue.
 */
import assert from 'node:assert/strict';
import { restartFederatedServer, startFederation, stopAll, type FederatedServer } from './helpers/federation-network';
import { createRoom, enc, send } from './helpers/rooms';
import { createUser, type TestUser } from './helpers/server';
import { messageBodies, sync, timelineOf } from './helpers/sync';

const V3 = '/_matrix/client/v3';

describe('federation: a server that goes down misses nothing', function () {
  this.timeout(60_000);
  let a: FederatedServer;
  let b: FederatedServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    [a, b] = await startFederation(2);
    alice = await createUser(a, 'alice');
    bob = await createUser(b, 'bob');
  });
  after(() => stopAll([a, b]));

  const filter = JSON.stringify({ room: { timeline: { limit: 100 } } });

  /** Follows B's /sync from `since` until `count` messages of the room have arrived; their bodies in timeline order, and where it stopped. */
  async function messagesOnB(roomId: string, count: number, since: string): Promise<{ bodies: string[]; since: string }> {
    const bodies: string[] = [];
    const deadline = Date.now() + 20_000;
    while (bodies.length < count && Date.now() < deadline) {
      const body = await sync(b, bob, { since, timeout: 1000, filter });
      bodies.push(...messageBodies(timelineOf(body, roomId)));
      since = body.next_batch;
    }
    return { bodies, since };
  }

  it("delivers what A's users sent while B was down, in order, once B is back", async () => {
    const roomId = await createRoom(a, alice, { preset: 'public_chat', room_alias_name: 'outage' });
    const joined = await b.request('POST', `${V3}/join/${enc(`#outage:${a.name}`)}`, { token: bob.accessToken, body: {} });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    const { next_batch: start } = await sync(b, bob, { filter });
    await send(a, alice, roomId, { msgtype: 'm.text', body: 'before' });
    const before = await messagesOnB(roomId, 1, start);
    assert.deepEqual(before.bodies, ['before']);

    await b.stop({ drop: false });
    const sentWhileDown = Array.from({ length: 12 }, (_, i) => `while down ${i + 1}`);
    for (const body of sentWhileDown) await send(a, alice, roomId, { msgtype: 'm.text', body });
    // A has tried B and is backing off: the messages wait in its queue.
    const destination = b.name;
    for (let tries = 0; tries < 100 && a.hs.federation.sender?.retryAt(destination) === undefined; tries++) await new Promise((r) => setTimeout(r, 50));
    assert.notEqual(a.hs.federation.sender?.retryAt(destination), undefined, 'A backs off from B');

    b = await restartFederatedServer(b);
    const received = await messagesOnB(roomId, sentWhileDown.length, before.since);
    assert.deepEqual(received.bodies, sentWhileDown);
  });
});

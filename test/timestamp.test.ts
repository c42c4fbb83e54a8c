/** GET /rooms/{roomId}/timestamp_to_event through the HTTP API. */
import assert from 'node:assert/strict';
import { createRoom, join, send } from './helpers/rooms';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';
import { leave, pageAll, setState, timestampToEvent } from './helpers/timeline';

const FAR_FUTURE = 8_000_000_000_000;

describe('GET /timestamp_to_event', () => {
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

  /** The events `user` may see, ordered as the endpoint orders them: by timestamp, then arrival. */
  async function timeline(user: TestUser, roomId: string): Promise<any[]> {
    const { events } = await pageAll(server, user, roomId, { dir: 'f', limit: 100 });
    return events.map((e, i) => ({ e, i })).sort((a, b) => a.e.origin_server_ts - b.e.origin_server_ts || a.i - b.i).map(({ e }) => e);
  }

  const expected = (events: any[], ts: number, dir: 'f' | 'b') => {
    const found = dir === 'f' ? events.find((e) => e.origin_server_ts >= ts) : [...events].reverse().find((e) => e.origin_server_ts <= ts);
    return { event_id: found.event_id, origin_server_ts: found.origin_server_ts };
  };

  async function closest(user: TestUser, roomId: string, ts: number, dir: 'f' | 'b'): Promise<any> {
    const res = await timestampToEvent(server, user, roomId, { ts, dir });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  it('finds the closest event at or after (f) and at or before (b) a timestamp', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    for (let i = 0; i < 8; i++) await send(server, alice, roomId, { msgtype: 'm.text', body: `t${i}` });
    const events = await timeline(alice, roomId);
    for (const probe of [events[0], events[3], events.at(-4), events.at(-1)]) {
      for (const ts of [probe.origin_server_ts - 1, probe.origin_server_ts, probe.origin_server_ts + 1]) {
        for (const dir of ['f', 'b'] as const) {
          if (dir === 'b' && ts < events[0].origin_server_ts) continue;
          if (dir === 'f' && ts > events.at(-1).origin_server_ts) continue;
          assert.deepEqual(await closest(alice, roomId, ts, dir), expected(events, ts, dir), `ts ${ts} dir ${dir}`);
        }
      }
    }
    assert.equal((await closest(alice, roomId, 0, 'f')).event_id, events[0].event_id);
    assert.equal(events[0].type, 'm.room.create');
    assert.equal((await closest(alice, roomId, FAR_FUTURE, 'b')).event_id, events.at(-1).event_id);
  });

  it('answers 404 M_NOT_FOUND when there is no event in that direction', async () => {
    const roomId = await createRoom(server, alice);
    expectError(await timestampToEvent(server, alice, roomId, { ts: FAR_FUTURE, dir: 'f' }), 404, 'M_NOT_FOUND');
    expectError(await timestampToEvent(server, alice, roomId, { ts: 1, dir: 'b' }), 404, 'M_NOT_FOUND');
  });

  it('skips events the user may not see', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    await setState(server, alice, roomId, 'm.room.history_visibility', { history_visibility: 'joined' });
    const hidden = await send(server, alice, roomId, { msgtype: 'm.text', body: 'before bob' });
    await join(server, bob, roomId);
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'with bob' });
    await leave(server, bob, roomId);
    await send(server, alice, roomId, { msgtype: 'm.text', body: 'after bob' });

    const bobs = await timeline(bob, roomId);
    assert.ok(!bobs.some((e) => e.event_id === hidden));
    const hiddenTs = (await timeline(alice, roomId)).find((e) => e.event_id === hidden).origin_server_ts;
    const forBob = await closest(bob, roomId, hiddenTs, 'f');
    assert.deepEqual(forBob, expected(bobs, hiddenTs, 'f'));
    assert.notEqual(forBob.event_id, hidden);
    assert.deepEqual(await closest(bob, roomId, 0, 'f'), expected(bobs, 0, 'f'));
    assert.deepEqual(await closest(bob, roomId, FAR_FUTURE, 'b'), expected(bobs, FAR_FUTURE, 'b'));
    assert.equal((await closest(bob, roomId, FAR_FUTURE, 'b')).event_id, bobs.at(-1).event_id);
    assert.equal(bobs.at(-1).content.membership, 'leave');
    const alices = await timeline(alice, roomId);
    assert.notEqual((await closest(alice, roomId, FAR_FUTURE, 'b')).event_id, bobs.at(-1).event_id);
    assert.equal((await closest(alice, roomId, FAR_FUTURE, 'b')).event_id, alices.at(-1).event_id);
  });

  it('refuses a non-member of a shared room with 403 and serves a world-readable one', async () => {
    const roomId = await createRoom(server, alice, { preset: 'public_chat' });
    expectError(await timestampToEvent(server, carol, roomId, { ts: 0, dir: 'f' }), 403, 'M_FORBIDDEN');
    expectError(await timestampToEvent(server, carol, '!unknown:localhost', { ts: 0, dir: 'f' }), 403, 'M_FORBIDDEN');
    await setState(server, alice, roomId, 'm.room.history_visibility', { history_visibility: 'world_readable' });
    const res = await timestampToEvent(server, carol, roomId, { ts: 0, dir: 'f' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('refuses bad parameters with 400', async () => {
    const roomId = await createRoom(server, alice);
    expectError(await timestampToEvent(server, alice, roomId, { dir: 'f' }), 400, 'M_MISSING_PARAM');
    expectError(await timestampToEvent(server, alice, roomId, { ts: 'soon', dir: 'f' }), 400, 'M_INVALID_PARAM');
    expectError(await timestampToEvent(server, alice, roomId, { ts: 1 }), 400, 'M_INVALID_PARAM');
    expectError(await timestampToEvent(server, alice, roomId, { ts: 1, dir: 'up' }), 400, 'M_INVALID_PARAM');
  });
});

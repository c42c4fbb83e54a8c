import assert from 'node:assert/strict';
import { MatrixError } from '../spec/errors';
import { eventAllowed, parseFilter, parseInlineFilter, roomAllowed, typeMatches } from '../spec/filter';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const V3 = '/_matrix/client/v3';
const filtersPath = (userId: string) => `${V3}/user/${encodeURIComponent(userId)}/filter`;
const filterPath = (userId: string, id: string) => `${filtersPath(userId)}/${encodeURIComponent(id)}`;

/** The example from filter.yaml. */
const EXAMPLE = {
  room: {
    state: { types: ['m.room.*'], not_rooms: ['!726s6s6q:example.com'] },
    timeline: { limit: 10, types: ['m.room.message'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
    ephemeral: { types: ['m.receipt', 'm.typing'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
  },
  presence: { types: ['m.presence'], not_senders: ['@alice:example.com'] },
  event_format: 'client',
  event_fields: ['type', 'content', 'sender'],
};

function throwsMatrix(fn: () => unknown, status: number, errcode: string): void {
  assert.throws(fn, (err: unknown) => err instanceof MatrixError && err.status === status && err.errcode === errcode);
}

describe('filters', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const upload = (user: TestUser, body: unknown) => server.request('POST', filtersPath(user.userId), { token: user.accessToken, body });

  describe('upload and download', () => {
    it('returns a string filter_id that downloads the same definition', async () => {
      const res = await upload(alice, EXAMPLE);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(typeof res.body.filter_id, 'string');
      assert.ok(!res.body.filter_id.startsWith('{'));
      const got = await server.request('GET', filterPath(alice.userId, res.body.filter_id), { token: alice.accessToken });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, EXAMPLE);
    });

    it('numbers filters per user', async () => {
      const first = (await upload(bob, { room: { timeline: { limit: 1 } } })).body.filter_id;
      const second = (await upload(bob, { room: { timeline: { limit: 2 } } })).body.filter_id;
      assert.notEqual(first, second);
      assert.deepEqual((await server.request('GET', filterPath(bob.userId, first), { token: bob.accessToken })).body, { room: { timeline: { limit: 1 } } });
      assert.deepEqual((await server.request('GET', filterPath(bob.userId, second), { token: bob.accessToken })).body, { room: { timeline: { limit: 2 } } });
    });

    it('accepts an empty filter and keys it does not know', async () => {
      assert.equal((await upload(alice, {})).status, 200);
      const res = await upload(alice, { org_example_future: 1, room: { timeline: { org_example_key: true } } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
  });

  describe('errors', () => {
    it('needs an access token', async () => {
      expectError(await server.request('POST', filtersPath(alice.userId), { body: {} }), 401, 'M_MISSING_TOKEN');
      expectError(await server.request('GET', filterPath(alice.userId, '0')), 401, 'M_MISSING_TOKEN');
    });

    it('rejects an unknown access token', async () => {
      expectError(await server.request('POST', filtersPath(alice.userId), { token: 'nope', body: {} }), 401, 'M_UNKNOWN_TOKEN');
      expectError(await server.request('GET', filterPath(alice.userId, '0'), { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
    });

    it("refuses another user's filters", async () => {
      expectError(await server.request('POST', filtersPath(alice.userId), { token: bob.accessToken, body: {} }), 403, 'M_FORBIDDEN');
      expectError(await server.request('GET', filterPath(alice.userId, '0'), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
    });

    it('answers 404 M_NOT_FOUND for an unknown filter ID', async () => {
      const carol = await createUser(server, 'carol');
      for (const id of ['0', '12345', 'abc', '-1', '1.5', '007', '99999999999999999999']) {
        expectError(await server.request('GET', filterPath(carol.userId, id), { token: carol.accessToken }), 404, 'M_NOT_FOUND');
      }
    });

    it("keeps each user's filters apart, numbered per user", async () => {
      const eve = await createUser(server, 'eve');
      const frank = await createUser(server, 'frank');
      const eveId = (await upload(eve, { presence: { types: ['org.example.eve'] } })).body.filter_id;
      const frankId = (await upload(frank, { presence: { types: ['org.example.frank'] } })).body.filter_id;
      assert.equal(eveId, frankId);
      assert.deepEqual((await server.request('GET', filterPath(eve.userId, eveId), { token: eve.accessToken })).body, { presence: { types: ['org.example.eve'] } });
      assert.deepEqual((await server.request('GET', filterPath(frank.userId, frankId), { token: frank.accessToken })).body, { presence: { types: ['org.example.frank'] } });
    });

    const wrongTypes: [string, unknown][] = [
      ['event_fields not an array', { event_fields: 'type' }],
      ['event_fields entry not a string', { event_fields: [1] }],
      ['limit a string', { room: { timeline: { limit: '10' } } }],
      ['limit not an integer', { presence: { limit: 1.5 } }],
      ['room not an object', { room: [] }],
      ['types entry not a string', { account_data: { types: [3] } }],
      ['lazy_load_members not a boolean', { room: { state: { lazy_load_members: 'yes' } } }],
      ['include_redundant_members not a boolean', { room: { timeline: { include_redundant_members: 1 } } }],
      ['unread_thread_notifications not a boolean', { room: { timeline: { unread_thread_notifications: 'true' } } }],
      ['include_leave not a boolean', { room: { include_leave: 'no' } }],
      ['rooms not an array', { room: { rooms: '!a:b' } }],
      ['not_rooms entry not a string', { room: { ephemeral: { not_rooms: [{}] } } }],
      ['contains_url not a boolean', { room: { timeline: { contains_url: 'x' } } }],
    ];
    for (const [name, body] of wrongTypes) {
      it(`rejects ${name} with 400 M_BAD_JSON`, async () => {
        expectError(await upload(alice, body), 400, 'M_BAD_JSON');
      });
    }

    const badValues: [string, unknown][] = [
      ['limit 0', { room: { timeline: { limit: 0 } } }],
      ['a negative limit', { presence: { limit: -5 } }],
      ['an unknown event_format', { event_format: 'xml' }],
      ['a room that is not a room ID', { room: { rooms: ['#alias:localhost'] } }],
      ['a sender that is not a user ID', { room: { timeline: { senders: ['bob'] } } }],
    ];
    for (const [name, body] of badValues) {
      it(`rejects ${name} with 400 M_INVALID_PARAM`, async () => {
        expectError(await upload(alice, body), 400, 'M_INVALID_PARAM');
      });
    }

    it('requires a JSON object body', async () => {
      expectError(await upload(alice, [EXAMPLE]), 400, 'M_BAD_JSON');
      expectError(await server.request('POST', filtersPath(alice.userId), { token: alice.accessToken, rawBody: 'not json' }), 400, 'M_NOT_JSON');
    });
  });

  describe('resolving a filter parameter (for /sync)', () => {
    it('finds an uploaded filter by ID', async () => {
      const id = (await upload(alice, EXAMPLE)).body.filter_id;
      const filter = await server.hs.services.filters.resolve(alice.userId, id);
      assert.deepEqual(filter.presence.types, ['m.presence']);
      assert.equal(filter.room.timeline.limit, 10);
      assert.deepEqual(filter.eventFields, ['type', 'content', 'sender']);
    });

    it('parses inline JSON', async () => {
      const filter = await server.hs.services.filters.resolve(alice.userId, '{"room":{"timeline":{"limit":3}}}');
      assert.equal(filter.room.timeline.limit, 3);
    });

    it('uses the default filter when given none', async () => {
      const filter = await server.hs.services.filters.resolve(alice.userId, undefined);
      assert.equal(filter.eventFormat, 'client');
      assert.equal(filter.room.includeLeave, false);
    });

    it('rejects an unknown filter ID, or one of another user, with 400 M_INVALID_PARAM', async () => {
      const id = (await upload(alice, {})).body.filter_id;
      const dave = await createUser(server, 'dave');
      await assert.rejects(server.hs.services.filters.resolve(dave.userId, id), (err: MatrixError) => err.errcode === 'M_INVALID_PARAM' && err.status === 400);
      await assert.rejects(server.hs.services.filters.resolve(alice.userId, 'nope'), (err: MatrixError) => err.errcode === 'M_INVALID_PARAM');
    });
  });
});

describe('spec/filter', () => {
  it('fills in the defaults the spec gives', () => {
    const filter = parseFilter({});
    assert.equal(filter.eventFormat, 'client');
    assert.equal(filter.eventFields, undefined);
    assert.equal(filter.room.includeLeave, false);
    assert.equal(filter.room.timeline.limit, 10);
    assert.equal(filter.room.state.limit, undefined);
    for (const part of [filter.room.timeline, filter.room.state, filter.room.ephemeral, filter.room.accountData]) {
      assert.equal(part.lazyLoadMembers, false);
      assert.equal(part.includeRedundantMembers, false);
      assert.equal(part.unreadThreadNotifications, false);
      assert.equal(part.containsUrl, undefined);
      assert.deepEqual(part.notRooms, []);
      assert.equal(part.rooms, undefined);
    }
    assert.deepEqual(filter.presence, { limit: undefined, types: undefined, notTypes: [], senders: undefined, notSenders: [] });
  });

  it('keeps the values a filter gives', () => {
    const filter = parseFilter({
      event_format: 'federation',
      room: { include_leave: true, rooms: ['!a:x'], state: { lazy_load_members: true, include_redundant_members: true }, timeline: { limit: 50, unread_thread_notifications: true } },
    });
    assert.equal(filter.eventFormat, 'federation');
    assert.equal(filter.room.includeLeave, true);
    assert.deepEqual(filter.room.rooms, ['!a:x']);
    assert.equal(filter.room.state.lazyLoadMembers, true);
    assert.equal(filter.room.state.includeRedundantMembers, true);
    assert.equal(filter.room.timeline.limit, 50);
    assert.equal(filter.room.timeline.unreadThreadNotifications, true);
  });

  it('rejects invalid definitions with the schema errors', () => {
    throwsMatrix(() => parseFilter({ room: { timeline: { limit: 'x' } } }), 400, 'M_BAD_JSON');
    throwsMatrix(() => parseFilter({ event_format: 'raw' }), 400, 'M_INVALID_PARAM');
    throwsMatrix(() => parseInlineFilter('{"room":'), 400, 'M_NOT_JSON');
  });

  it('matches event types with * wildcards', () => {
    assert.ok(typeMatches('m.room.*', 'm.room.message'));
    assert.ok(typeMatches('*', 'anything'));
    assert.ok(typeMatches('m.*.member', 'm.room.member'));
    assert.ok(!typeMatches('m.room.*', 'm.roomy'));
    assert.ok(!typeMatches('m.room.message', 'm.room.messages'));
    assert.ok(!typeMatches('m.room.mes+age', 'm.room.message'));
  });

  it('lets exclusions win over inclusions', () => {
    const { timeline } = parseFilter({
      room: { timeline: { types: ['m.room.*'], not_types: ['m.room.member'], senders: ['@a:x', '@b:x'], not_senders: ['@b:x'] } },
    }).room;
    assert.ok(eventAllowed(timeline, { type: 'm.room.message', sender: '@a:x' }));
    assert.ok(!eventAllowed(timeline, { type: 'm.room.member', sender: '@a:x' }));
    assert.ok(!eventAllowed(timeline, { type: 'm.room.message', sender: '@b:x' }));
    assert.ok(!eventAllowed(timeline, { type: 'm.room.message', sender: '@c:x' }));
    assert.ok(!eventAllowed(timeline, { type: 'org.example', sender: '@a:x' }));
  });

  it('filters rooms and contains_url', () => {
    const filter = parseFilter({ room: { rooms: ['!a:x', '!b:x'], not_rooms: ['!b:x'], timeline: { contains_url: true, not_rooms: ['!c:x'] } } });
    assert.ok(roomAllowed(filter.room, '!a:x'));
    assert.ok(!roomAllowed(filter.room, '!b:x'));
    assert.ok(!roomAllowed(filter.room, '!z:x'));
    const { timeline } = filter.room;
    assert.ok(eventAllowed(timeline, { type: 'm.room.message', room_id: '!a:x', content: { url: 'mxc://x/y' } }));
    assert.ok(!eventAllowed(timeline, { type: 'm.room.message', room_id: '!a:x', content: { body: 'hi' } }));
    assert.ok(!eventAllowed(timeline, { type: 'm.room.message', room_id: '!c:x', content: { url: 'mxc://x/y' } }));
    const noUrls = parseFilter({ room: { timeline: { contains_url: false } } }).room.timeline;
    assert.ok(eventAllowed(noUrls, { type: 'm.room.message', content: { body: 'hi' } }));
    assert.ok(!eventAllowed(noUrls, { type: 'm.room.message', content: { url: 'mxc://x/y' } }));
  });
});

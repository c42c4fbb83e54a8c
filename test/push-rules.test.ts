import assert from 'node:assert/strict';
import { createUser, expectError, startServer, type TestServer, type TestUser } from './helpers/server';

const RULES = '/_matrix/client/v3/pushrules';
const rulePath = (kind: string, ruleId: string, rest = '') => `${RULES}/global/${kind}/${encodeURIComponent(ruleId)}${rest}`;
const ids = (rules: { rule_id: string }[]) => rules.map((r) => r.rule_id);

describe('push rules API', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    server = await startServer({ max_request_body_bytes: 4096 });
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
  });
  after(() => server.stop());

  const get = (user: TestUser, path: string) => server.request('GET', path, { token: user.accessToken });
  const put = (user: TestUser, path: string, body: unknown) => server.request('PUT', path, { token: user.accessToken, body });
  const ruleset = async (user: TestUser) => (await get(user, `${RULES}/global/`)).body;

  it('lists the predefined rules in the spec order, naming the user', async () => {
    const res = await get(alice, `${RULES}/`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { global } = res.body;
    assert.deepEqual(Object.keys(global).sort(), ['content', 'override', 'room', 'sender', 'underride']);
    assert.deepEqual(ids(global.override), [
      '.m.rule.master',
      '.m.rule.suppress_notices',
      '.m.rule.invite_for_me',
      '.m.rule.member_event',
      '.m.rule.is_user_mention',
      '.m.rule.is_room_mention',
      '.m.rule.tombstone',
      '.m.rule.reaction',
      '.m.rule.room.server_acl',
      '.m.rule.suppress_edits',
    ]);
    assert.deepEqual(ids(global.underride), ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
    const mention = global.override.find((r: { rule_id: string }) => r.rule_id === '.m.rule.is_user_mention');
    assert.deepEqual(mention, {
      rule_id: '.m.rule.is_user_mention',
      default: true,
      enabled: true,
      conditions: [{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: alice.userId }],
      actions: ['notify', { set_tweak: 'sound', value: 'default' }, { set_tweak: 'highlight' }],
    });
    assert.deepEqual(await ruleset(alice), global);
  });

  it('reads one rule, its enabled and its actions', async () => {
    const res = await get(alice, rulePath('override', '.m.rule.master'));
    assert.deepEqual(res.body, { rule_id: '.m.rule.master', default: true, enabled: false, conditions: [], actions: [] });
    assert.deepEqual((await get(alice, rulePath('override', '.m.rule.master', '/enabled'))).body, { enabled: false });
    assert.deepEqual((await get(alice, rulePath('underride', '.m.rule.message', '/actions'))).body, { actions: ['notify'] });
  });

  it('answers 404 for unknown rules, or rules of another kind, and 400 for unknown kinds', async () => {
    expectError(await get(alice, rulePath('override', 'nope')), 404, 'M_NOT_FOUND');
    expectError(await get(alice, rulePath('override', '.m.rule.message')), 404, 'M_NOT_FOUND');
    expectError(await get(alice, rulePath('override', 'nope', '/enabled')), 404, 'M_NOT_FOUND');
    expectError(await get(alice, rulePath('override', 'nope', '/actions')), 404, 'M_NOT_FOUND');
    expectError(await put(alice, rulePath('override', 'nope', '/enabled'), { enabled: true }), 404, 'M_NOT_FOUND');
    expectError(await put(alice, rulePath('override', 'nope', '/actions'), { actions: [] }), 404, 'M_NOT_FOUND');
    expectError(await get(alice, rulePath('sideways', 'nope')), 400, 'M_INVALID_PARAM');
  });

  it('creates a content rule, enabled, with the keys of its kind', async () => {
    const res = await put(alice, rulePath('content', 'nocake'), { pattern: 'cake*lie', actions: ['notify'], conditions: [{ kind: 'event_match', key: 'type', pattern: 'x' }] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {});
    assert.deepEqual((await get(alice, rulePath('content', 'nocake'))).body, { rule_id: 'nocake', default: false, enabled: true, actions: ['notify'], pattern: 'cake*lie' });
    const room = await put(alice, rulePath('room', '!dj234r78wl45Gh4D:matrix.org'), { actions: [] });
    assert.equal(room.status, 200, JSON.stringify(room.body));
    assert.deepEqual((await ruleset(alice)).room, [{ rule_id: '!dj234r78wl45Gh4D:matrix.org', default: false, enabled: true, actions: [] }]);
  });

  it('orders rules by before and after: new first, before winning over after', async () => {
    const body = { actions: ['notify'], conditions: [{ kind: 'event_match', key: 'content.body', pattern: 'x' }] };
    const user = await createUser(server, 'orderly');
    for (const id of ['a', 'b']) assert.equal((await put(user, rulePath('override', id), body)).status, 200);
    assert.equal((await put(user, `${rulePath('override', 'c')}?after=a`, body)).status, 200);
    assert.equal((await put(user, `${rulePath('override', 'd')}?before=a&after=c`, body)).status, 200);
    assert.equal((await put(user, `${rulePath('override', 'b')}?after=c`, body)).status, 200);
    assert.deepEqual(ids((await ruleset(user)).override), ['.m.rule.master', 'd', 'a', 'c', 'b', '.m.rule.suppress_notices', '.m.rule.invite_for_me', '.m.rule.member_event', '.m.rule.is_user_mention', '.m.rule.is_room_mention', '.m.rule.tombstone', '.m.rule.reaction', '.m.rule.room.server_acl', '.m.rule.suppress_edits']);
  });

  it('refuses bad rules with the spec errors and keeps the ruleset as it was', async () => {
    const user = await createUser(server, 'careful');
    const before = await ruleset(user);
    const cases: [string, unknown, number, string][] = [
      [rulePath('override', '.m.rule.mine'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      [rulePath('override', '.m.rule.master'), { actions: ['notify'] }, 400, 'M_INVALID_PARAM'],
      [rulePath('override', 'a/b'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      [rulePath('override', 'a\\b'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      [rulePath('override', 'x'), {}, 400, 'M_MISSING_PARAM'],
      [rulePath('override', 'x'), { actions: 'notify' }, 400, 'M_BAD_JSON'],
      [rulePath('override', 'x'), { actions: [1] }, 400, 'M_BAD_JSON'],
      [rulePath('override', 'x'), { actions: ['explode'] }, 400, 'M_INVALID_PARAM'],
      [rulePath('override', 'x'), { actions: [], conditions: [{ key: 'type' }] }, 400, 'M_MISSING_PARAM'],
      [rulePath('override', 'x'), { actions: [], conditions: [{ kind: 'event_match', key: 'type' }] }, 400, 'M_MISSING_PARAM'],
      [rulePath('content', 'x'), { actions: [] }, 400, 'M_MISSING_PARAM'],
      [rulePath('room', 'not-a-room'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      [rulePath('sender', 'not-a-user'), { actions: [] }, 400, 'M_INVALID_PARAM'],
      [`${rulePath('override', 'x')}?before=nope`, { actions: [] }, 400, 'M_UNKNOWN'],
      [`${rulePath('override', 'x')}?after=.m.rule.master`, { actions: [] }, 400, 'M_INVALID_PARAM'],
      [rulePath('sideways', 'x'), { actions: [] }, 400, 'M_INVALID_PARAM'],
    ];
    for (const [path, body, status, code] of cases) expectError(await put(user, path, body), status, code);
    expectError(await server.request('PUT', rulePath('override', 'x'), { token: user.accessToken, rawBody: '{"actions": [' }), 400, 'M_NOT_JSON');
    expectError(await put(user, rulePath('override', 'x'), { actions: [], conditions: [{ kind: 'event_match', key: 'content.body', pattern: 'p'.repeat(5000) }] }), 413, 'M_TOO_LARGE');
    expectError(await put(user, rulePath('override', '.m.rule.master', '/enabled'), {}), 400, 'M_MISSING_PARAM');
    expectError(await put(user, rulePath('override', '.m.rule.master', '/enabled'), { enabled: 'yes' }), 400, 'M_BAD_JSON');
    expectError(await put(user, rulePath('override', '.m.rule.master', '/actions'), {}), 400, 'M_MISSING_PARAM');
    expectError(await put(user, rulePath('override', '.m.rule.master', '/actions'), { actions: ['explode'] }), 400, 'M_INVALID_PARAM');
    assert.deepEqual(await ruleset(user), before);
  });

  it('deletes own rules only', async () => {
    const user = await createUser(server, 'deleter');
    await put(user, rulePath('sender', '@spambot:matrix.org'), { actions: [] });
    assert.deepEqual((await server.request('DELETE', rulePath('sender', '@spambot:matrix.org'), { token: user.accessToken })).body, {});
    expectError(await get(user, rulePath('sender', '@spambot:matrix.org')), 404, 'M_NOT_FOUND');
    expectError(await server.request('DELETE', rulePath('sender', '@spambot:matrix.org'), { token: user.accessToken }), 404, 'M_NOT_FOUND');
    expectError(await server.request('DELETE', rulePath('override', '.m.rule.master'), { token: user.accessToken }), 400, 'M_INVALID_PARAM');
    assert.equal((await get(user, rulePath('override', '.m.rule.master'))).status, 200);
  });

  it('enables and disables rules, and sets actions, server defaults included', async () => {
    const user = await createUser(server, 'tweaker');
    assert.equal((await put(user, rulePath('override', '.m.rule.master', '/enabled'), { enabled: true })).status, 200);
    assert.equal((await put(user, rulePath('underride', '.m.rule.message', '/actions'), { actions: ['notify', { set_tweak: 'sound', value: 'bing' }] })).status, 200);
    await put(user, rulePath('content', 'tea'), { pattern: 'tea', actions: ['notify'] });
    assert.equal((await put(user, rulePath('content', 'tea', '/enabled'), { enabled: false })).status, 200);
    const rules = await ruleset(user);
    assert.equal(rules.override[0].enabled, true);
    assert.deepEqual(rules.underride.find((r: { rule_id: string }) => r.rule_id === '.m.rule.message').actions, ['notify', { set_tweak: 'sound', value: 'bing' }]);
    assert.deepEqual(rules.content, [{ rule_id: 'tea', default: false, enabled: false, actions: ['notify'], pattern: 'tea' }]);
    await put(user, rulePath('content', 'tea'), { pattern: 'tea*', actions: [] });
    assert.equal((await get(user, rulePath('content', 'tea', '/enabled'))).body.enabled, false, 'an update keeps enabled');
  });

  it("keeps each user's rules to themselves", async () => {
    await put(alice, rulePath('override', 'alices'), { actions: [] });
    expectError(await get(bob, rulePath('override', 'alices')), 404, 'M_NOT_FOUND');
    assert.ok(!ids((await ruleset(bob)).override).includes('alices'));
  });

  it('needs a valid access token', async () => {
    expectError(await server.request('GET', `${RULES}/`), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('PUT', rulePath('override', 'x'), { body: { actions: [] } }), 401, 'M_MISSING_TOKEN');
    expectError(await server.request('GET', `${RULES}/global/`, { token: 'nope' }), 401, 'M_UNKNOWN_TOKEN');
  });

  it('serves the ruleset as the global account data m.push_rules', async () => {
    const path = (type: string) => `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/${type}`;
    const res = await get(alice, path('m.push_rules'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { global: await ruleset(alice) });
    expectError(await put(alice, path('m.push_rules'), { global: {} }), 405, 'M_BAD_JSON');
  });

  describe('in /sync', () => {
    const sync = async (user: TestUser, query = '') => {
      const res = await server.request('GET', `/_matrix/client/v3/sync${query}`, { token: user.accessToken });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const pushRulesOf = (body: any) => (body.account_data?.events ?? []).filter((e: { type: string }) => e.type === 'm.push_rules');

    it('sends m.push_rules on an initial sync, then only after a change, waking a waiting sync', async () => {
      const user = await createUser(server, 'syncer');
      const initial = await sync(user);
      const [event] = pushRulesOf(initial);
      assert.deepEqual(event, { type: 'm.push_rules', content: { global: await ruleset(user) } });

      const quiet = await sync(user, `?since=${initial.next_batch}&timeout=0`);
      assert.deepEqual(pushRulesOf(quiet), []);

      const waiting = sync(user, `?since=${initial.next_batch}&timeout=10000`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await put(user, rulePath('sender', '@noisy:example.org'), { actions: [] });
      const woken = await waiting;
      const [changed] = pushRulesOf(woken);
      assert.deepEqual(changed.content.global.sender, [{ rule_id: '@noisy:example.org', default: false, enabled: true, actions: [] }]);
      assert.deepEqual(pushRulesOf(await sync(user, `?since=${woken.next_batch}&timeout=0`)), []);
    });

    it('leaves m.push_rules out when the account_data filter does', async () => {
      const user = await createUser(server, 'filtered');
      const filter = encodeURIComponent(JSON.stringify({ account_data: { not_types: ['m.push_rules'] } }));
      assert.deepEqual(pushRulesOf(await sync(user, `?filter=${filter}`)), []);
    });
  });
});

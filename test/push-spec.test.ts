import assert from 'node:assert/strict';
import { MatrixError } from '../spec/errors';
import { outcomeOf } from '../spec/push/actions';
import { conditionHolds, type ConditionContext, type PushEvent } from '../spec/push/conditions';
import { evaluate, matchingRule } from '../spec/push/evaluate';
import { countsNotification, eventNotification, priorityOf } from '../spec/push/gateway';
import { globMatches, globMatchesWords } from '../spec/push/glob';
import { predefined } from '../spec/push/predefined';
import { propertyAt, splitPropertyPath } from '../spec/push/property-path';
import { checkPusher, type PusherBody } from '../spec/push/pusher';
import { changeRule, deleteRule, fullRuleset, noUserRules, putRule, type UserRules } from '../spec/push/ruleset';
import { MAIN_THREAD, threadOf } from '../spec/push/thread';

const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';

const ctx = (over: Partial<ConditionContext> = {}): ConditionContext => ({
  memberCount: 5,
  displayName: () => 'Alice Liddell',
  senderPowerLevel: 0,
  notificationLevel: () => 50,
  ...over,
});

const message = (content: Record<string, unknown>, over: PushEvent = {}): PushEvent => ({
  type: 'm.room.message',
  sender: BOB,
  room_id: '!room:example.org',
  content: { msgtype: 'm.text', ...content },
  ...over,
});

function errcode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MatrixError, String(err));
    return `${err.status} ${err.errcode}`;
  }
  assert.fail('expected a MatrixError');
}

describe('push (spec)', () => {
  describe('property paths', () => {
    it('splits on unescaped dots and unescapes \\. and \\\\ only', () => {
      assert.deepEqual(splitPropertyPath('content.m\\.relates_to.rel_type'), ['content', 'm.relates_to', 'rel_type']);
      assert.deepEqual(splitPropertyPath('content.m\\\\foo'), ['content', 'm\\foo']);
      assert.deepEqual(splitPropertyPath('content.a\\xb'), ['content', 'a\\xb']);
    });

    it('reads own properties of objects only', () => {
      const event = { content: { 'm.relates_to': { rel_type: 'm.replace' }, list: ['a'] } };
      assert.equal(propertyAt(event, 'content.m\\.relates_to.rel_type'), 'm.replace');
      assert.equal(propertyAt(event, 'content.m.relates_to.rel_type'), undefined);
      assert.equal(propertyAt(event, 'content.list.0'), undefined);
      assert.equal(propertyAt(event, 'content.constructor'), undefined);
    });
  });

  describe('glob', () => {
    it('matches the whole value, case-insensitively, with * and ?', () => {
      for (const value of ['Lunch plans', 'LUNCH', 'lunch']) assert.ok(globMatches('lunc?*', value), value);
      for (const value of [' lunch', 'lunc']) assert.ok(!globMatches('lunc?*', value), value);
      assert.ok(globMatches('m.room.*', 'm.room.message'));
      assert.ok(!globMatches('m.room.message', 'm_room_message'), 'dots are literal');
      assert.ok(globMatches('a(b)[c]+', 'A(B)[C]+'), 'regex syntax is literal');
      assert.ok(globMatches('', ''));
    });

    it('matches content.body words between boundaries', () => {
      assert.ok(globMatchesWords('ex*ple', 'An example event.'));
      assert.ok(globMatchesWords('ex*ple', 'exple'));
      assert.ok(globMatchesWords('ex*ple', 'An exciting triple-whammy'));
      assert.ok(!globMatchesWords('cake', 'cakes are nice'));
      assert.ok(!globMatchesWords('cake', 'pancake'));
      assert.ok(globMatchesWords('cake', 'I like CAKE!'));
      assert.ok(!globMatchesWords('cake', 'cake_lover'), 'underscore is a word character');
    });
  });

  describe('conditions', () => {
    it('event_match needs a string value, even for *', () => {
      const event = { type: 'm.room.topic', content: { topic: null, n: 1 } };
      assert.ok(!conditionHolds({ kind: 'event_match', key: 'content.topic', pattern: '*' }, event, ctx()));
      assert.ok(!conditionHolds({ kind: 'event_match', key: 'content.n', pattern: '*' }, event, ctx()));
      assert.ok(!conditionHolds({ kind: 'event_match', key: 'content.absent', pattern: '*' }, event, ctx()));
      assert.ok(conditionHolds({ kind: 'event_match', key: 'type', pattern: 'M.ROOM.*' }, event, ctx()));
    });

    it('event_property_is matches scalars exactly, without casting', () => {
      const event = { content: { 'm.federate': true, s: 'true', n: 1, f: 1.5, nil: null, obj: {} } };
      const is = (key: string, value: unknown) => conditionHolds({ kind: 'event_property_is', key, value: value as never }, event, ctx());
      assert.ok(is('content.m\\.federate', true));
      assert.ok(!is('content.s', true));
      assert.ok(!is('content.n', true));
      assert.ok(is('content.n', 1));
      assert.ok(!is('content.f', 1.5), 'not a canonical JSON integer');
      assert.ok(is('content.nil', null));
      assert.ok(!is('content.absent', null));
      assert.ok(!is('content.obj', {}));
    });

    it('event_property_contains matches array members exactly', () => {
      const event = { content: { alt_aliases: ['#somewhere:example.org', '#myroom:example.com', { x: 1 }] } };
      const contains = (value: unknown) => conditionHolds({ kind: 'event_property_contains', key: 'content.alt_aliases', value: value as never }, event, ctx());
      assert.ok(contains('#myroom:example.com'));
      assert.ok(!contains(':example.com'));
      assert.ok(!conditionHolds({ kind: 'event_property_contains', key: 'content', value: 'x' }, event, ctx()));
    });

    it('room_member_count compares with ==, <, >, <=, >=', () => {
      const holds = (is: string, memberCount: number) => conditionHolds({ kind: 'room_member_count', is }, {}, ctx({ memberCount }));
      assert.ok(holds('2', 2));
      assert.ok(!holds('2', 3));
      assert.ok(holds('==2', 2));
      assert.ok(holds('<10', 9) && !holds('<10', 10));
      assert.ok(holds('<=10', 10) && !holds('<=10', 11));
      assert.ok(holds('>2', 3) && !holds('>2', 2));
      assert.ok(holds('>=2', 2) && !holds('>=2', 1));
      assert.ok(!holds('=2', 2) && !holds('two', 2) && !holds('', 2));
    });

    it('sender_notification_permission compares the sender with notifications[key]', () => {
      const condition = { kind: 'sender_notification_permission', key: 'room' };
      assert.ok(conditionHolds(condition, {}, ctx({ senderPowerLevel: 50 })));
      assert.ok(!conditionHolds(condition, {}, ctx({ senderPowerLevel: 49 })));
    });

    it('contains_display_name looks for the display name between word boundaries', () => {
      const condition = { kind: 'contains_display_name' };
      assert.ok(conditionHolds(condition, message({ body: 'hello alice liddell!' }), ctx()));
      assert.ok(!conditionHolds(condition, message({ body: 'hello Alice Liddells' }), ctx()));
      assert.ok(!conditionHolds(condition, message({ body: 'hello' }), ctx({ displayName: () => undefined })));
    });

    it('never matches an unknown condition kind', () => {
      assert.ok(!conditionHolds({ kind: 'org.example.always' }, {}, ctx()));
    });
  });

  describe('predefined rules', () => {
    it('lists v1.19 in its order', () => {
      const ids = (kind: string) => predefined(ALICE).filter((r) => r.kind === kind).map((r) => r.rule.rule_id);
      assert.deepEqual(ids('override'), [
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
      assert.deepEqual(ids('content'), []);
      assert.deepEqual(ids('underride'), ['.m.rule.call', '.m.rule.encrypted_room_one_to_one', '.m.rule.room_one_to_one', '.m.rule.message', '.m.rule.encrypted']);
    });

    const outcome = (event: PushEvent, over: Partial<ConditionContext> = {}) => {
      const result = evaluate(fullRuleset(ALICE, noUserRules()), event, ctx(over));
      return result && { notify: result.notify, highlight: result.highlight, rule: matchingRule(fullRuleset(ALICE, noUserRules()), event, ctx(over))!.rule_id };
    };

    it('gives each kind of event the spec outcome', () => {
      assert.deepEqual(outcome(message({ body: 'hi' })), { notify: true, highlight: false, rule: '.m.rule.message' });
      assert.deepEqual(outcome(message({ body: 'hi' }), { memberCount: 2 }), { notify: true, highlight: false, rule: '.m.rule.room_one_to_one' });
      assert.deepEqual(outcome(message({ body: 'hi', msgtype: 'm.notice' })), { notify: false, highlight: false, rule: '.m.rule.suppress_notices' });
      assert.deepEqual(outcome(message({ body: 'hi', 'm.mentions': { user_ids: [ALICE] } })), { notify: true, highlight: true, rule: '.m.rule.is_user_mention' });
      assert.deepEqual(outcome(message({ body: 'hi', 'm.mentions': { room: true } }), { senderPowerLevel: 50 }), { notify: true, highlight: true, rule: '.m.rule.is_room_mention' });
      assert.deepEqual(outcome(message({ body: 'hi', 'm.mentions': { room: true } }), { senderPowerLevel: 0 }), { notify: true, highlight: false, rule: '.m.rule.message' });
      assert.deepEqual(outcome({ type: 'm.reaction', sender: BOB, content: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$x', key: '👍' } } }), { notify: false, highlight: false, rule: '.m.rule.reaction' });
      const edit = message({ body: '* hi', 'm.new_content': { body: 'hi' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$x' } }, {});
      assert.deepEqual(outcome(edit, { memberCount: 2 }), { notify: false, highlight: false, rule: '.m.rule.suppress_edits' });
      assert.deepEqual(outcome({ type: 'm.room.member', sender: BOB, state_key: ALICE, content: { membership: 'invite' } }), { notify: true, highlight: false, rule: '.m.rule.invite_for_me' });
      assert.deepEqual(outcome({ type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'join' } }), { notify: false, highlight: false, rule: '.m.rule.member_event' });
      assert.deepEqual(outcome({ type: 'm.room.tombstone', sender: BOB, state_key: '', content: {} }), { notify: true, highlight: true, rule: '.m.rule.tombstone' });
      assert.deepEqual(outcome({ type: 'm.room.server_acl', sender: BOB, state_key: '', content: {} }), { notify: false, highlight: false, rule: '.m.rule.room.server_acl' });
      assert.deepEqual(outcome({ type: 'm.call.invite', sender: BOB, content: {} }), { notify: true, highlight: false, rule: '.m.rule.call' });
      assert.deepEqual(outcome({ type: 'm.room.encrypted', sender: BOB, content: {} }, { memberCount: 2 }), { notify: true, highlight: false, rule: '.m.rule.encrypted_room_one_to_one' });
      assert.deepEqual(outcome({ type: 'm.room.encrypted', sender: BOB, content: {} }), { notify: true, highlight: false, rule: '.m.rule.encrypted' });
      assert.equal(outcome({ type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 'x' } }), undefined);
    });

    it('master, once enabled, silences everything, the user rules included', () => {
      let rules = putRule(noUserRules(), 'override', 'everything', { actions: ['notify'], conditions: [] });
      rules = changeRule(rules, 'override', '.m.rule.master', { enabled: true });
      assert.equal(matchingRule(fullRuleset(ALICE, rules), message({ body: 'x' }), ctx())!.rule_id, '.m.rule.master');
    });
  });

  describe('user rules', () => {
    const ids = (rules: UserRules, kind: 'override' | 'content' = 'content') => rules.own[kind].map((r) => r.rule_id);

    it('outrank the server defaults of their kind, and room and sender rules work by ID', () => {
      let rules = putRule(noUserRules(), 'room', '!quiet:example.org', { actions: [] });
      rules = putRule(rules, 'sender', '@loud:example.org', { actions: ['notify', { set_tweak: 'highlight' }] });
      rules = putRule(rules, 'content', 'cake', { actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }], pattern: 'cake' });
      const ruleset = fullRuleset(ALICE, rules);
      assert.equal(matchingRule(ruleset, message({ body: 'x' }, { room_id: '!quiet:example.org' }), ctx())!.rule_id, '!quiet:example.org');
      assert.equal(evaluate(ruleset, message({ body: 'x' }, { sender: '@loud:example.org' }), ctx())!.highlight, true);
      assert.deepEqual(evaluate(ruleset, message({ body: 'time for cake' }), ctx())!.tweaks, { sound: 'cakealarm.wav' });
    });

    it('are placed by before and after, before winning; new rules come first', () => {
      const body = { actions: ['notify'], pattern: 'p' };
      let rules = putRule(noUserRules(), 'content', 'a', body);
      rules = putRule(rules, 'content', 'b', body);
      assert.deepEqual(ids(rules), ['b', 'a']);
      rules = putRule(rules, 'content', 'c', body, { after: 'a' });
      assert.deepEqual(ids(rules), ['b', 'a', 'c']);
      rules = putRule(rules, 'content', 'd', body, { before: 'a', after: 'c' });
      assert.deepEqual(ids(rules), ['b', 'd', 'a', 'c']);
      rules = putRule(rules, 'content', 'b', { actions: [], pattern: 'q' });
      assert.deepEqual(ids(rules), ['b', 'd', 'a', 'c'], 'an update keeps its place');
      rules = putRule(rules, 'content', 'b', body, { after: 'c' });
      assert.deepEqual(ids(rules), ['d', 'a', 'c', 'b']);
    });

    it('keep enabled across updates', () => {
      let rules = putRule(noUserRules(), 'override', 'x', { actions: ['notify'] });
      rules = changeRule(rules, 'override', 'x', { enabled: false });
      rules = putRule(rules, 'override', 'x', { actions: [] });
      assert.equal(rules.own.override[0].enabled, false);
      assert.deepEqual(rules.own.override[0].conditions, []);
    });

    it('refuse reserved and malformed IDs, unknown anchors and actions', () => {
      const rules = putRule(noUserRules(), 'content', 'a', { actions: [], pattern: 'p' });
      assert.equal(errcode(() => putRule(rules, 'override', '.mine', { actions: [] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'override', 'a/b', { actions: [] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'override', 'a\\b', { actions: [] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'room', 'not-a-room', { actions: [] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'sender', 'not-a-user', { actions: [] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'content', 'b', { actions: [] })), '400 M_MISSING_PARAM');
      assert.equal(errcode(() => putRule(rules, 'content', 'b', { actions: [], pattern: 'p' }, { before: 'nope' })), '400 M_UNKNOWN');
      assert.equal(errcode(() => putRule(rules, 'content', 'b', { actions: [], pattern: 'p' }, { after: '.m.rule.master' })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'override', 'b', { actions: ['explode'] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'override', 'b', { actions: [{ value: 1 } as never] })), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => putRule(rules, 'override', 'b', { actions: [], conditions: [{ kind: 'event_match', key: 'type' }] })), '400 M_MISSING_PARAM');
    });

    it('cannot delete server defaults; deleting an unknown rule is 404', () => {
      assert.equal(errcode(() => deleteRule(noUserRules(), 'override', '.m.rule.master')), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => deleteRule(noUserRules(), 'override', 'nope')), '404 M_NOT_FOUND');
      assert.equal(errcode(() => changeRule(noUserRules(), 'override', 'nope', { enabled: true })), '404 M_NOT_FOUND');
    });

    it('change the actions of server defaults', () => {
      const rules = changeRule(noUserRules(), 'underride', '.m.rule.message', { actions: ['dont_notify'] });
      const result = evaluate(fullRuleset(ALICE, rules), message({ body: 'x' }), ctx());
      assert.equal(result!.notify, false, 'dont_notify is ignored: no notify');
    });
  });

  describe('actions', () => {
    it('read notify and tweaks; highlight without value is true; legacy actions are ignored', () => {
      assert.deepEqual(outcomeOf(['notify', { set_tweak: 'highlight' }, 'coalesce']), { notify: true, highlight: true, tweaks: { highlight: true } });
      assert.deepEqual(outcomeOf(['notify', { set_tweak: 'highlight', value: false }]), { notify: true, highlight: false, tweaks: { highlight: false } });
      assert.deepEqual(outcomeOf(['dont_notify']), { notify: false, highlight: false, tweaks: {} });
    });
  });

  describe('threads', () => {
    const contents: Record<string, Record<string, unknown>> = {
      $root: { body: 'root' },
      $inThread: { body: 'reply', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } },
      $reactionInThread: { 'm.relates_to': { rel_type: 'm.annotation', event_id: '$inThread', key: 'x' } },
      $editOfReaction: { 'm.relates_to': { rel_type: 'm.replace', event_id: '$reactionInThread' } },
      $deep: { 'm.relates_to': { rel_type: 'm.replace', event_id: '$editOfReaction' } },
    };
    const load = async (id: string) => contents[id];

    it('finds the root through up to three hops; roots and the rest are in main', async () => {
      assert.equal(await threadOf(contents.$root, load), MAIN_THREAD);
      assert.equal(await threadOf(contents.$inThread, load), '$root');
      assert.equal(await threadOf(contents.$reactionInThread, load), '$root');
      assert.equal(await threadOf(contents.$editOfReaction, load), '$root');
      assert.equal(await threadOf(contents.$deep, load), MAIN_THREAD, 'four hops away');
      assert.equal(await threadOf({ 'm.relates_to': { rel_type: 'm.annotation', event_id: '$root', key: 'x' } }, load), MAIN_THREAD);
      assert.equal(await threadOf({ 'm.relates_to': { rel_type: 'm.annotation', event_id: '$unknown', key: 'x' } }, load), MAIN_THREAD);
    });
  });

  describe('push gateway notifications', () => {
    const pusher = { app_id: 'org.example.app', pushkey: 'key', pushkeyTs: 1_700_000_000_123, data: { url: 'https://push.example.org/_matrix/push/v1/notify', custom: 1 } };
    const event = { event_id: '$e', room_id: '!r:example.org', type: 'm.room.message', sender: BOB, content: { body: 'hi' }, room_name: 'Room' };

    it('carry the event, counts without zeros, and devices without url', () => {
      const body = eventNotification(ALICE, event, { sound: 'default' }, { unread: 2, missed_calls: 0 }, pusher);
      assert.deepEqual(body, {
        notification: {
          event_id: '$e',
          room_id: '!r:example.org',
          prio: 'high',
          counts: { unread: 2 },
          devices: [{ app_id: 'org.example.app', pushkey: 'key', pushkey_ts: 1_700_000_000, data: { custom: 1 }, tweaks: { sound: 'default' } }],
          type: 'm.room.message',
          sender: BOB,
          content: { body: 'hi' },
          room_name: 'Room',
        },
      });
    });

    it('honour event_id_only', () => {
      const body = eventNotification(ALICE, event, {}, { unread: 1, missed_calls: 1 }, { ...pusher, data: { ...pusher.data, format: 'event_id_only' } });
      assert.deepEqual(Object.keys(body.notification).sort(), ['counts', 'devices', 'event_id', 'prio', 'room_id']);
      assert.deepEqual(body.notification.devices[0].data, { custom: 1, format: 'event_id_only' });
    });

    it('say whether the user is the target of a member event', () => {
      const invite = { ...event, type: 'm.room.member', state_key: ALICE, content: { membership: 'invite' } };
      assert.equal(eventNotification(ALICE, invite, {}, { unread: 1, missed_calls: 0 }, pusher).notification.user_is_target, true);
    });

    it('rank priority, and send counts alone with unread even at zero', () => {
      assert.equal(priorityOf({ type: 'm.room.message' }, {}), 'low');
      assert.equal(priorityOf({ type: 'm.room.message' }, { highlight: true }), 'high');
      assert.equal(priorityOf({ type: 'm.room.encrypted' }, {}), 'high');
      assert.deepEqual(countsNotification({ unread: 0, missed_calls: 0 }, pusher).notification.counts, { unread: 0 });
    });
  });

  describe('pushers', () => {
    const http = (over: Partial<PusherBody> = {}): PusherBody => ({
      kind: 'http',
      app_id: 'org.example.app',
      pushkey: 'key',
      app_display_name: 'App',
      device_display_name: 'Phone',
      lang: 'en',
      data: { url: 'https://push.example.org/_matrix/push/v1/notify' },
      ...over,
    });

    it('accept http pushers to a notify URL, and deletions', () => {
      assert.equal(checkPusher(http()), true);
      assert.equal(checkPusher(http({ data: { url: 'http://127.0.0.1:9/_matrix/push/v1/notify', format: 'event_id_only' } })), true);
      assert.equal(checkPusher({ kind: null, app_id: 'org.example.app', pushkey: 'key' }), false);
      assert.equal(checkPusher(http({ kind: 'email', app_id: 'm.email', pushkey: 'alice@example.org', data: {} })), true);
    });

    it('refuse what the spec does not allow', () => {
      assert.equal(errcode(() => checkPusher(http({ data: {} }))), '400 M_MISSING_PARAM');
      assert.equal(errcode(() => checkPusher(http({ lang: undefined }))), '400 M_MISSING_PARAM');
      assert.equal(errcode(() => checkPusher(http({ data: { url: 'https://push.example.org/notify' } }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ data: { url: 'ftp://push.example.org/_matrix/push/v1/notify' } }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ data: { url: 'not a url' } }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ data: { url: 'https://p.example.org/_matrix/push/v1/notify', format: 'full' } }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ kind: 'carrier-pigeon' }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ app_id: 'a'.repeat(65) }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ pushkey: 'k'.repeat(513) }))), '400 M_INVALID_PARAM');
      assert.equal(errcode(() => checkPusher(http({ kind: 'email', app_id: 'org.example.app', pushkey: 'alice@example.org' }))), '400 M_INVALID_PARAM');
    });
  });
});

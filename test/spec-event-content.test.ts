/** checkKnownContent: what the client API refuses with 400 M_BAD_JSON in auth-relevant state events. */
import assert from 'node:assert/strict';
import { MatrixError } from '../spec/errors';
import { checkKnownContent } from '../spec/event-content';
import { version } from './helpers/events';

const v = (id: string) => version(id);

function badJson(type: string, content: Record<string, unknown>, id = '12', field?: RegExp): void {
  assert.throws(
    () => checkKnownContent(type, content, v(id)),
    (err: unknown) => err instanceof MatrixError && err.status === 400 && err.errcode === 'M_BAD_JSON' && (!field || field.test(err.message)),
    `${type} ${JSON.stringify(content)} in v${id}`,
  );
}

const ok = (type: string, content: Record<string, unknown>, id = '12') => assert.doesNotThrow(() => checkKnownContent(type, content, v(id)));

describe('checkKnownContent', () => {
  it('m.room.member needs a known membership', () => {
    for (const membership of ['invite', 'join', 'knock', 'leave', 'ban']) ok('m.room.member', { membership, displayname: 'x' });
    badJson('m.room.member', {}, '12', /membership/);
    badJson('m.room.member', { membership: 'wave' }, '12', /membership/);
    badJson('m.room.member', { membership: ['join'] });
  });

  it('m.room.member: join_authorised_via_users_server is a user ID, third_party_invite a signed block', () => {
    ok('m.room.member', { membership: 'join', join_authorised_via_users_server: '@a:a.test' });
    badJson('m.room.member', { membership: 'join', join_authorised_via_users_server: 'a.test' }, '12', /join_authorised_via_users_server/);
    const signed = { mxid: '@c:c.test', token: 't', signatures: { 'id.test': { 'ed25519:0': 'sig' } } };
    ok('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'c', signed } });
    badJson('m.room.member', { membership: 'invite', third_party_invite: { signed } }, '12', /third_party_invite/);
    badJson('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'c', signed: { ...signed, token: 5 } } });
    badJson('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'c', signed: { ...signed, mxid: 'c' } } });
    badJson('m.room.member', { membership: 'invite', third_party_invite: { display_name: 'c', signed: { ...signed, signatures: { x: 1 } } } });
  });

  it('m.room.join_rules needs a known join rule and well-formed allow conditions', () => {
    for (const joinRule of ['public', 'knock', 'invite', 'private', 'restricted', 'knock_restricted']) ok('m.room.join_rules', { join_rule: joinRule });
    badJson('m.room.join_rules', {}, '12', /join_rule/);
    badJson('m.room.join_rules', { join_rule: 'open' });
    const allow = [{ type: 'm.room_membership', room_id: '!space:a.test' }, { type: 'org.example.other' }];
    ok('m.room.join_rules', { join_rule: 'restricted', allow });
    badJson('m.room.join_rules', { join_rule: 'restricted', allow: {} }, '12', /allow/);
    badJson('m.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership' }] });
    badJson('m.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '#alias:a.test' }] });
    badJson('m.room.join_rules', { join_rule: 'restricted', allow: [{ room_id: '!space:a.test' }] });
  });

  it('m.room.power_levels takes only integers, in every room version', () => {
    const full = {
      ban: 50, kick: 50, redact: 50, invite: 0, users_default: 0, events_default: 0, state_default: 50,
      events: { 'm.room.name': 50 }, notifications: { room: 50 }, users: { '@a:a.test': 100 },
    };
    for (const id of ['1', '9', '10', '12']) {
      ok('m.room.power_levels', full, id);
      ok('m.room.power_levels', {}, id);
      for (const name of ['ban', 'kick', 'redact', 'invite', 'users_default', 'events_default', 'state_default']) {
        badJson('m.room.power_levels', { ...full, [name]: '50' }, id, new RegExp(name));
        badJson('m.room.power_levels', { ...full, [name]: 50.5 }, id, new RegExp(name));
        badJson('m.room.power_levels', { ...full, [name]: 2 ** 53 }, id, new RegExp(name));
      }
      badJson('m.room.power_levels', { ...full, events: { 'm.room.name': '50' } }, id, /events/);
      badJson('m.room.power_levels', { ...full, notifications: { room: true } }, id, /notifications/);
      badJson('m.room.power_levels', { ...full, users: { '@a:a.test': '100' } }, id, /users/);
      badJson('m.room.power_levels', { ...full, users: { alice: 100 } }, id, /users/);
      badJson('m.room.power_levels', { ...full, users: [] }, id, /users/);
    }
  });

  it('m.room.create: field types, and additional_creators in v12', () => {
    ok('m.room.create', { creator: '@a:a.test', room_version: '10', 'm.federate': false, type: 'm.space', predecessor: { room_id: '!old:a.test', event_id: '$e' } }, '10');
    badJson('m.room.create', { creator: 'alice' }, '10', /creator/);
    badJson('m.room.create', { room_version: 10 }, '10', /room_version/);
    badJson('m.room.create', { 'm.federate': 'no' }, '10', /m\.federate/);
    badJson('m.room.create', { type: 5 }, '10', /type/);
    badJson('m.room.create', { predecessor: { event_id: '$e' } }, '10', /predecessor/);
    ok('m.room.create', { predecessor: { room_id: '!old' } }, '12');
    ok('m.room.create', { additional_creators: ['@b:b.test'] }, '12');
    badJson('m.room.create', { additional_creators: ['b'] }, '12', /additional_creators/);
    badJson('m.room.create', { additional_creators: '@b:b.test' }, '12', /additional_creators/);
    ok('m.room.create', { additional_creators: ['b'] }, '11');
  });

  it('m.room.third_party_invite: keys are strings', () => {
    ok('m.room.third_party_invite', { display_name: 'x', key_validity_url: 'https://id.test', public_key: 'k', public_keys: [{ public_key: 'k' }] });
    badJson('m.room.third_party_invite', { public_key: 5 }, '12', /public_key/);
    badJson('m.room.third_party_invite', { public_keys: [{}] }, '12', /public_keys/);
  });

  it('passes other event types whatever their content', () => {
    ok('m.room.name', { name: 5 });
    ok('org.example', { membership: 'wave' });
    ok('constructor', {});
  });
});

/** spec/server-acl.ts: m.room.server_acl matching (the event schema's rules, glob-style matching). */
import assert from 'node:assert/strict';
import { hostOf, isIpLiteral, isServerAllowed, parseServerAcl, serverAclAllows } from '../spec/server-acl';

const allows = (content: Record<string, unknown>, server: string) => serverAclAllows(content, server);

describe('spec: server ACLs', () => {
  it('allows every server when the room has no ACL', () => {
    assert.equal(serverAclAllows(undefined, 'anything.example'), true);
    assert.equal(isServerAllowed(undefined, '1.2.3.4'), true);
  });

  it('denies every server when `allow` is missing, empty or not a list', () => {
    for (const content of [{}, { allow: [] }, { allow: '*' }, { allow: null }, { deny: [] }]) {
      assert.equal(allows(content, 'good.example'), false, JSON.stringify(content));
    }
  });

  it('denies servers matching `deny` before looking at `allow`', () => {
    const content = { allow: ['*'], deny: ['evil.example'] };
    assert.equal(allows(content, 'evil.example'), false);
    assert.equal(allows(content, 'good.example'), true);
    assert.equal(allows({ allow: ['evil.example'], deny: ['evil.example'] }, 'evil.example'), false);
  });

  it('ignores the port of the server name', () => {
    const content = { allow: ['*'], deny: ['evil.example'] };
    for (const name of ['evil.example:8448', 'evil.example:1234']) assert.equal(allows(content, name), false, name);
    assert.equal(allows({ allow: ['good.example'] }, 'good.example:8448'), true);
    assert.equal(allows({ allow: ['good.example:8448'] }, 'good.example:8448'), false, 'a glob with a port matches no host');
  });

  it('matches globs case-insensitively, `*` as any run and `?` as exactly one character', () => {
    const content = { allow: ['*.good.example', 'ev?l.example'] };
    assert.equal(allows(content, 'a.good.example'), true);
    assert.equal(allows(content, 'A.B.GOOD.Example'), true);
    assert.equal(allows(content, 'good.example'), false);
    assert.equal(allows(content, 'evil.example'), true);
    assert.equal(allows(content, 'evl.example'), false);
    assert.equal(allows(content, 'eviil.example'), false);
    assert.equal(allows({ allow: ['a.b'] }, 'axb'), false, 'other characters match only themselves');
    assert.equal(allows({ allow: ['*'] }, 'x.y'), true);
  });

  it('skips entries that are not strings', () => {
    assert.equal(allows({ allow: [1, null, 'ok.example'], deny: [{}, 7] }, 'ok.example'), true);
    assert.deepEqual(parseServerAcl({ allow: [1, 'a'], deny: 'b' }), { allow: ['a'], deny: [], allowIpLiterals: true });
  });

  it('denies IP literals only when allow_ip_literals is false', () => {
    const names = ['1.2.3.4', '1.2.3.4:8448', '[::1]', '[2001:db8::1]:8448'];
    for (const name of names) {
      assert.equal(allows({ allow: ['*'], allow_ip_literals: false }, name), false, name);
      for (const value of [true, undefined, 'false', 0]) {
        assert.equal(allows({ allow: ['*'], allow_ip_literals: value }, name), true, `${name} with ${String(value)}`);
      }
    }
    assert.equal(allows({ allow: ['*'], allow_ip_literals: false }, '1.2.3.4.example'), true, 'a name that only starts like an address');
    assert.equal(allows({ allow: ['1.2.3.*'] }, '1.2.3.4:80'), true, 'IP literals are otherwise matched like names');
  });

  it('takes the host out of a server name', () => {
    assert.equal(hostOf('example.org'), 'example.org');
    assert.equal(hostOf('example.org:8448'), 'example.org');
    assert.equal(hostOf('1.2.3.4:80'), '1.2.3.4');
    assert.equal(hostOf('[::1]'), '[::1]');
    assert.equal(hostOf('[::1]:8448'), '[::1]');
    assert.equal(isIpLiteral('[::1]'), true);
    assert.equal(isIpLiteral('10.0.0.1'), true);
    assert.equal(isIpLiteral('10.0.0.1.nip.example'), false);
  });
});

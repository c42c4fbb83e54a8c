/** server/net/ip-ranges.ts: the outbound address policy, and its config validation. */
import assert from 'node:assert/strict';
import { buildConfig, ConfigError } from '../server/config/load';
import { DEFAULT_IP_RANGE_DENYLIST } from '../server/config/schema';
import { generateSigningKey } from '../server/config/signing-key';
import { IpRangePolicy, parseIpRange, unmapIPv4 } from '../server/net/ip-ranges';

describe('outbound IP range policy', () => {
  const defaults = new IpRangePolicy(DEFAULT_IP_RANGE_DENYLIST, []);

  it('denies the default private, loopback and reserved ranges, and allows public addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fc00::1', 'fd12::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '2001:db8::1']) {
      assert.equal(defaults.allows(address), false, address);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '2a00:1450::1']) {
      assert.equal(defaults.allows(address), true, address);
    }
  });

  it('judges IPv4-mapped IPv6 addresses as the IPv4 address, in either spelling', () => {
    assert.equal(unmapIPv4('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(unmapIPv4('0:0:0:0:0:FFFF:7f00:0001'), '127.0.0.1');
    assert.equal(unmapIPv4('::1'), undefined);
    assert.equal(unmapIPv4('127.0.0.1'), undefined);
    for (const address of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:192.168.0.1']) {
      assert.equal(defaults.allows(address), false, address);
    }
    // The default list's IPv6 rule for the mapped range does not deny public IPv4 addresses.
    assert.equal(defaults.allows('::ffff:8.8.8.8'), true);
    assert.equal(defaults.allows('8.8.8.8'), true);
    const v4only = new IpRangePolicy(['10.0.0.0/8'], []);
    assert.equal(v4only.allows('::ffff:10.9.9.9'), false);
    assert.equal(new IpRangePolicy(['::ffff:0:0/96'], []).allows('8.8.8.8'), true, 'an IPv6 rule never judges an IPv4 address');
  });

  it('lets the allowlist override the denylist, for IPv4, IPv6 and mapped addresses', () => {
    const policy = new IpRangePolicy(DEFAULT_IP_RANGE_DENYLIST, ['127.0.0.0/8', '::1/128', '10.5.0.0/16']);
    assert.equal(policy.allows('127.0.0.1'), true);
    assert.equal(policy.allows('127.255.0.9'), true);
    assert.equal(policy.allows('::1'), true);
    assert.equal(policy.allows('::ffff:127.0.0.1'), true);
    assert.equal(policy.allows('10.5.200.1'), true);
    assert.equal(policy.allows('10.6.0.1'), false);
    assert.equal(policy.allows('fe80::2'), false);
    assert.equal(policy.allows('fc00::1'), false);
  });

  it('refuses what is not an IP address', () => {
    const open = new IpRangePolicy([], []);
    assert.equal(open.allows('1.2.3.4'), true);
    for (const address of ['localhost', '', '1.2.3', '300.1.1.1', '[::1]']) assert.equal(open.allows(address), false, address);
  });

  it('parses CIDR ranges, and bare addresses as single-address ranges', () => {
    assert.deepEqual(parseIpRange('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseIpRange('fc00::/7'), { address: 'fc00::', prefix: 7, family: 'ipv6' });
    assert.deepEqual(parseIpRange('1.2.3.4'), { address: '1.2.3.4', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseIpRange('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0/8', 'example.com/8', '', '1.2.3.4/8/9', '::1/ 8']) {
      assert.throws(() => parseIpRange(bad), /is not an IP range/, bad);
    }
    assert.equal(new IpRangePolicy(['1.2.3.4'], []).allows('1.2.3.5'), true);
    assert.equal(new IpRangePolicy(['1.2.3.4'], []).allows('1.2.3.4'), false);
  });

  it('refuses a config with an invalid range at start-up, naming the key and entry', () => {
    const base = { server_name: 'example.org', signing_key: generateSigningKey() };
    const attempt = (over: object) => {
      try {
        buildConfig({ ...base, ...over });
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
      }
      assert.fail('expected a ConfigError');
    };
    assert.match(attempt({ ip_range_denylist: ['10.0.0.0/8', '10.0.0.0/40'] }), /ip_range_denylist\[1\]: "10\.0\.0\.0\/40" is not an IP range.*prefix length must be 0 to 32/);
    assert.match(attempt({ ip_range_allowlist: ['localhost'] }), /ip_range_allowlist\[0\]: "localhost" is not an IP range/);
    const ok = buildConfig({ ...base, ip_range_allowlist: ['127.0.0.1', '::1/128'] });
    assert.deepEqual(ok.ip_range_allowlist, ['127.0.0.1', '::1/128']);
    assert.deepEqual(buildConfig(base).ip_range_denylist, DEFAULT_IP_RANGE_DENYLIST);
  });
});

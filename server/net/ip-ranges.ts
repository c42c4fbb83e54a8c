/**
 * Which addresses outbound requests (federation, push gateways) may connect
 * to: config.ip_range_denylist minus config.ip_range_allowlist, both lists of
 * CIDR ranges. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the
 * IPv4 address it carries, so it cannot slip past an IPv4 rule.
 */
import { BlockList, isIP, isIPv4 } from 'node:net';
import type { Config } from '../config/schema';

export interface IpRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `address/prefix` (a bare address is the range of itself); throws an Error saying what is wrong. */
export function parseIpRange(text: string): IpRange {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) throw new Error(`"${text}" is not an IP range: "${address}" is not an IPv4 or IPv6 address`);
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const bits = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) throw new Error(`"${text}" is not an IP range: the prefix length must be 0 to ${bits}`);
  return { address, prefix, family };
}

/** IPv4 and IPv6 ranges kept apart: node's BlockList would otherwise match IPv4 addresses against IPv6 rules as mapped addresses. */
class RangeSet {
  private readonly v4 = new BlockList();
  private readonly v6 = new BlockList();

  constructor(ranges: readonly IpRange[]) {
    for (const range of ranges) (range.family === 'ipv4' ? this.v4 : this.v6).addSubnet(range.address, range.prefix, range.family);
  }

  has(address: string, family: 'ipv4' | 'ipv6'): boolean {
    return family === 'ipv4' ? this.v4.check(address, 'ipv4') : this.v6.check(address, 'ipv6');
  }
}

/** The IPv4 address an IPv4-mapped IPv6 address carries; undefined for any other address. */
export function unmapIPv4(address: string): string | undefined {
  if (!address.includes(':')) return undefined;
  // The URL parser normalises every spelling of a mapped address to ::ffff:hhhh:hhhh.
  const normal = new URL(`http://[${address}]`).hostname;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(normal);
  if (!mapped) return undefined;
  const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

export class IpRangePolicy {
  private readonly denied: RangeSet;
  private readonly allowed: RangeSet;

  /** Throws on a range that does not parse (config validation reports it first, with the key). */
  constructor(denylist: readonly string[], allowlist: readonly string[]) {
    this.denied = new RangeSet(denylist.map(parseIpRange));
    this.allowed = new RangeSet(allowlist.map(parseIpRange));
  }

  static fromConfig(config: Pick<Config, 'ip_range_denylist' | 'ip_range_allowlist'>): IpRangePolicy {
    return new IpRangePolicy(config.ip_range_denylist, config.ip_range_allowlist);
  }

  /** Whether an outbound connection may go to `address` (an IP address; anything else is refused). */
  allows(address: string): boolean {
    const plain = address.replace(/%.*$/, '');
    const version = isIP(plain);
    if (version === 0) return false;
    const v4 = version === 4 ? plain : unmapIPv4(plain);
    const [judged, family] = v4 !== undefined && isIPv4(v4) ? [v4, 'ipv4' as const] : [plain, 'ipv6' as const];
    return !this.denied.has(judged, family) || this.allowed.has(judged, family);
  }
}

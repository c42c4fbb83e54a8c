/**
 * Server names (appendices, "Server Name"): `hostname [ ":" port ]`, where the
 * hostname is an IPv4 literal, an IPv6 literal in brackets, or a DNS name.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ServerName {
  /** The hostname without brackets: a DNS name, or an IP address when `ip` is set. */
  hostname: string;
  /** The explicit port, if the name has one. */
  port?: number;
  /** 4 or 6 for an IP literal, 0 for a DNS name. */
  ip: 0 | 4 | 6;
}

const SHAPE = /^(?:\[([0-9A-Fa-f:.]{2,45})\]|([0-9A-Za-z.-]{1,255}))(?::(\d{1,5}))?$/;

/** Parses a server name per the grammar; undefined if it is not one (or its IP literal or port is out of range). */
export function parseServerName(name: string): ServerName | undefined {
  const match = SHAPE.exec(name);
  if (!match) return undefined;
  const [, v6, host, portText] = match;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const withPort = (parsed: ServerName): ServerName => (port === undefined ? parsed : { ...parsed, port });
  if (v6 !== undefined) return isIPv6(v6) ? withPort({ hostname: v6, ip: 6 }) : undefined;
  // A dotted quad is an IPv4 literal, and must be a valid one rather than a DNS name.
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return isIPv4(host) ? withPort({ hostname: host, ip: 4 }) : undefined;
  return withPort({ hostname: host, ip: 0 });
}

/** `hostname[:port]` as a server name is written: IPv6 literals in brackets. */
export function formatServerName(hostname: string, port?: number): string {
  const host = isIPv6(hostname) ? `[${hostname}]` : hostname;
  return port === undefined ? host : `${host}:${port}`;
}

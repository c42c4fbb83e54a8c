/**
 * Server access control lists (m.room.server_acl; server-server-api, "Server
 * Access Control Lists"): whether a server may take part in a room. Applied to
 * the requests of other servers naming a room, and to each PDU they send.
 */
import { globMatches } from './push/glob';

export interface ServerAcl {
  allow: readonly string[];
  deny: readonly string[];
  allowIpLiterals: boolean;
}

const IPV4_LITERAL = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * The ACL an m.room.server_acl content expresses. `allow` and `deny` default to
 * empty lists (so a missing `allow` denies everyone); entries that are not
 * strings are ignored; `allow_ip_literals` is true unless it is the boolean false.
 */
export function parseServerAcl(content: Record<string, unknown>): ServerAcl {
  const globs = (value: unknown): string[] => (Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : []);
  return { allow: globs(content.allow), deny: globs(content.deny), allowIpLiterals: content.allow_ip_literals !== false };
}

/** The host part of a server name: without its port (an IPv6 literal keeps its brackets). */
export function hostOf(serverName: string): string {
  if (serverName.startsWith('[')) {
    const close = serverName.indexOf(']');
    return close === -1 ? serverName : serverName.slice(0, close + 1);
  }
  const colon = serverName.lastIndexOf(':');
  return colon === -1 ? serverName : serverName.slice(0, colon);
}

/** Whether a host is an IPv4 or (bracketed) IPv6 address literal. */
export function isIpLiteral(host: string): boolean {
  return IPV4_LITERAL.test(host) || (host.startsWith('[') && host.endsWith(']'));
}

/**
 * Whether the ACL lets `serverName` in, by the spec's rules in order: no ACL
 * allows; an IP literal is denied unless IP literals are allowed; a match in
 * `deny` denies; a match in `allow` allows; anything else is denied. Globs are
 * matched case-insensitively against the server name without its port.
 */
export function isServerAllowed(acl: ServerAcl | undefined, serverName: string): boolean {
  if (acl === undefined) return true;
  const host = hostOf(serverName);
  if (!acl.allowIpLiterals && isIpLiteral(host)) return false;
  if (acl.deny.some((glob) => globMatches(glob, host))) return false;
  return acl.allow.some((glob) => globMatches(glob, host));
}

/** isServerAllowed for the content of a room's m.room.server_acl event, if it has one. */
export function serverAclAllows(content: Record<string, unknown> | undefined, serverName: string): boolean {
  return isServerAllowed(content === undefined ? undefined : parseServerAcl(content), serverName);
}

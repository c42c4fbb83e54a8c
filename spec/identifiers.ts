/** Identifier grammars from the appendices: server names and user IDs. */

const IPV4 = String.raw`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`;
const IPV6 = String.raw`\[[0-9A-Fa-f:.]{2,45}\]`;
const DNS_NAME = String.raw`[0-9A-Za-z.-]{1,255}`;
const SERVER_NAME_RE = new RegExp(`^(?:${IPV4}|${IPV6}|${DNS_NAME})(?::\\d{1,5})?$`);

/** The localpart characters allowed for new user IDs. */
const LOCALPART_RE = /^[a-z0-9._=\-/+]+$/;

/** The limit the spec sets on user, room and event IDs alike. */
export const MAX_ID_BYTES = 255;

export function isValidServerName(name: string): boolean {
  return SERVER_NAME_RE.test(name);
}

/** Whether `localpart` may be used to create a new user on this server. */
export function isValidLocalpart(localpart: string): boolean {
  return LOCALPART_RE.test(localpart);
}

export function userId(localpart: string, serverName: string): string {
  return `@${localpart}:${serverName}`;
}

export function userIdLength(id: string): number {
  return Buffer.byteLength(id, 'utf8');
}

/**
 * Splits a user ID into localpart and server name. Accepts the historical
 * (non-compliant) localpart set, as the spec requires, but not a bad server name.
 */
export function parseUserId(id: string): { localpart: string; serverName: string } | null {
  if (!id.startsWith('@') || userIdLength(id) > MAX_ID_BYTES) return null;
  const colon = id.indexOf(':');
  if (colon < 0) return null;
  const localpart = id.slice(1, colon);
  const serverName = id.slice(colon + 1);
  if (localpart.includes('\0') || !isValidServerName(serverName)) return null;
  return { localpart, serverName };
}

/** `!opaque_id` (room version 12) or `!opaque_id:server_name`, at most 255 bytes (appendices, Room IDs). */
export function isValidRoomId(roomId: string): boolean {
  return /^![^\0]+$/.test(roomId) && Buffer.byteLength(roomId, 'utf8') <= MAX_ID_BYTES;
}

/** `mxc://<server-name>/<media-id>` (content repository module). */
export function isMxcUri(uri: string): boolean {
  const match = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(uri);
  return match !== null && isValidServerName(match[1]);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Splits `#localpart:server_name` (appendices, Room Aliases): at most 255 bytes,
 * a localpart of any non-surrogate code points but `:` and NUL, a valid server name.
 */
export function parseRoomAlias(alias: string): { localpart: string; serverName: string } | null {
  if (!alias.startsWith('#') || Buffer.byteLength(alias, 'utf8') > MAX_ID_BYTES || LONE_SURROGATE.test(alias)) return null;
  const colon = alias.indexOf(':');
  if (colon < 0) return null;
  const localpart = alias.slice(1, colon);
  const serverName = alias.slice(colon + 1);
  if (localpart.includes('\0') || !isValidServerName(serverName)) return null;
  return { localpart, serverName };
}

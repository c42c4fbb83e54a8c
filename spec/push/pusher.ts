/**
 * Pushers (pusher.yaml, POST /pushers/set): the checks beyond the body's
 * schema. A pusher is identified by its user, app_id and pushkey; `kind: null`
 * deletes it.
 */
import { invalidParam, missingParam } from '../errors';
import { EVENT_ID_ONLY, NOTIFY_PATH } from './gateway';

export const PUSHER_KINDS = ['http', 'email'] as const;
export type PusherKind = (typeof PUSHER_KINDS)[number];

export const MAX_APP_ID_CHARS = 64;
export const MAX_PUSHKEY_BYTES = 512;
/** The app_id of email pushers. */
export const EMAIL_APP_ID = 'm.email';

export interface PusherData {
  url?: string;
  format?: string;
  [key: string]: unknown;
}

export interface PusherBody {
  kind: string | null;
  app_id: string;
  pushkey: string;
  app_display_name?: string;
  device_display_name?: string;
  profile_tag?: string;
  lang?: string;
  data?: PusherData;
  append?: boolean;
}

/** A pusher to create or update: every field a non-null kind requires is present. */
export interface PusherSpec extends PusherBody {
  kind: PusherKind;
  app_display_name: string;
  device_display_name: string;
  lang: string;
  data: PusherData;
}

/** An http pusher's URL: http or https (the spec asks for https; loopback gateways use http), path /_matrix/push/v1/notify. */
function checkGatewayUrl(url: string | undefined): void {
  if (url === undefined) throw missingParam("Missing 'data.url': http pushers need the push gateway's URL");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParam("'data.url' is not a URL");
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalidParam("'data.url' must be an https (or http) URL");
  if (parsed.pathname !== NOTIFY_PATH) throw invalidParam(`'data.url' must have the path ${NOTIFY_PATH}`);
}

/** Checks the identity fields and, unless `kind` is null, the rest: true for a pusher to set, false for a deletion. */
export function checkPusher(body: PusherBody): body is PusherSpec {
  if (body.app_id.length === 0 || [...body.app_id].length > MAX_APP_ID_CHARS) {
    throw invalidParam(`'app_id' must be 1 to ${MAX_APP_ID_CHARS} characters`);
  }
  if (body.pushkey.length === 0 || Buffer.byteLength(body.pushkey, 'utf8') > MAX_PUSHKEY_BYTES) {
    throw invalidParam(`'pushkey' must be 1 to ${MAX_PUSHKEY_BYTES} bytes`);
  }
  if (body.kind === null) return false;
  if (!(PUSHER_KINDS as readonly string[]).includes(body.kind)) throw invalidParam(`'kind' must be one of ${PUSHER_KINDS.join(', ')} or null`);
  const missing = (['app_display_name', 'device_display_name', 'lang', 'data'] as const).filter((key) => body[key] === undefined);
  if (missing.length > 0) throw missingParam(`Missing parameters: ${missing.join(', ')}`);
  if (body.kind === 'http') {
    checkGatewayUrl(body.data!.url);
    if (body.data!.format !== undefined && body.data!.format !== EVENT_ID_ONLY) throw invalidParam(`'data.format' must be '${EVENT_ID_ONLY}'`);
  } else {
    if (body.app_id !== EMAIL_APP_ID) throw invalidParam(`Email pushers have the app_id '${EMAIL_APP_ID}'`);
    if (!/^[^@\s]+@[^@\s]+$/.test(body.pushkey)) throw invalidParam("An email pusher's pushkey is an email address");
  }
  return true;
}

/**
 * Request authentication between servers (server-server-api, "Request
 * Authentication"): the JSON a request's signature covers, and the
 * `Authorization: X-Matrix …` header that carries it.
 */
import { signJson, verifyJsonSignature, type SigningKeyPair } from './signing';

/** What an X-Matrix signature covers. */
export interface SignedRequest {
  method: string;
  /** The path and query as sent, starting with `/_matrix/`. */
  uri: string;
  origin: string;
  destination: string;
  /** The parsed JSON body; absent when the request has none. */
  content?: unknown;
}

/** The parameters of an X-Matrix header. `destination` may be absent (servers before v1.3). */
export interface XMatrixAuth {
  origin: string;
  destination?: string;
  key: string;
  sig: string;
}

function requestJson(request: SignedRequest): Record<string, unknown> {
  const json: Record<string, unknown> = { method: request.method, uri: request.uri, origin: request.origin, destination: request.destination };
  if (request.content !== undefined) json.content = request.content;
  return json;
}

/** The Authorization header value for `request`, signed by its origin with `key`. */
export function xMatrixAuthorization(request: SignedRequest, key: SigningKeyPair): string {
  const signed = signJson(requestJson(request), request.origin, key);
  const sig = signed.signatures[request.origin][key.keyId];
  return `X-Matrix origin="${request.origin}",destination="${request.destination}",key="${key.keyId}",sig="${sig}"`;
}

/** Whether `auth.sig` signs `request` under the origin's key `publicKeyBase64`. */
export function verifyXMatrix(request: SignedRequest, auth: XMatrixAuth, publicKeyBase64: string): boolean {
  const json = { ...requestJson(request), signatures: { [request.origin]: { [auth.key]: auth.sig } } };
  return verifyJsonSignature(json, request.origin, auth.key, publicKeyBase64);
}

const TOKEN_CHARS = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
/** One `name=value` parameter: a quoted string with backslash escapes, or a bare value (colons allowed, for older senders). */
const PARAMETER = new RegExp(`^[ \\t]*(${TOKEN_CHARS}+)[ \\t]*=[ \\t]*(?:"((?:[^"\\\\]|\\\\.)*)"|((?:${TOKEN_CHARS}|:)+))[ \\t]*(?:,|$)`);

/**
 * Parses an `Authorization` header of the X-Matrix scheme (RFC 9110 section
 * 11.4 syntax: names are case-insensitive, values quoted or not, unknown
 * parameters ignored). Undefined when it is not X-Matrix or lacks origin,
 * key or sig.
 */
export function parseXMatrix(header: string | undefined): XMatrixAuth | undefined {
  if (header === undefined) return undefined;
  const scheme = /^X-Matrix +/i.exec(header);
  if (!scheme) return undefined;
  let rest = header.slice(scheme[0].length);
  const params = new Map<string, string>();
  while (rest.trim() !== '') {
    const match = PARAMETER.exec(rest);
    if (!match) return undefined;
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
    const name = match[1].toLowerCase();
    if (!params.has(name)) params.set(name, value);
    rest = rest.slice(match[0].length);
  }
  const origin = params.get('origin');
  const key = params.get('key');
  const sig = params.get('sig');
  if (!origin || !key || !sig) return undefined;
  const destination = params.get('destination');
  return { origin, key, sig, ...(destination === undefined ? {} : { destination }) };
}

/**
 * How an endpoint is declared. Every route module exports a function from the
 * services to a list of Routes; server/http/router.ts turns them into koa routes
 * that read and validate the body, authenticate, rate-limit and call `handler`.
 */
import type { Validator } from '../../spec/validate';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The authenticated user behind an access token. */
export interface Requester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
  isAdmin: boolean;
  accessTokenId: number;
}

export interface Request<B> {
  params: Record<string, string>;
  /** Each query parameter's first value. */
  query: Record<string, string | undefined>;
  /** Every value of each query parameter, in order (for parameters a request may repeat, like backfill's `v`). */
  queryAll: Record<string, string[]>;
  body: B;
  /** Present when the route's auth is 'required' (and when 'optional' and a token was sent). */
  requester?: Requester;
  /** The server whose X-Matrix signature authenticated the request: routes whose auth is 'server'. */
  origin?: string;
  ip: string;
  userAgent?: string;
  /** Aborts when the client goes away before the response is sent (long-polls stop waiting). */
  signal: AbortSignal;
}

/** A handler returns a body (sent with 200), or a Reply for another status or headers. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface Route<B = unknown> {
  method: Method;
  /** A @koa/router path, e.g. `/_matrix/client/v3/profile/:userId`. */
  path: string;
  /** An access token ('optional', 'required'), an X-Matrix server signature ('server': federation), or nothing. */
  auth: 'none' | 'optional' | 'required' | 'server';
  /** Whether guest accounts may call it (the spec's list of guest-accessible endpoints). */
  guests?: boolean;
  /**
   * For endpoints the spec marks rate-limited: 'request' takes from the caller's
   * per-user (or, unauthenticated, per-IP) bucket; 'login' from the per-IP login bucket.
   */
  rateLimit?: 'request' | 'login';
  /** The largest body accepted, in bytes, when it is not the configured max_request_body_bytes. */
  maxBodyBytes?: number;
  /** Validates the JSON body; routes without one accept (and ignore) any JSON object. */
  body?: Validator<B>;
  handler(req: Request<B>): Promise<unknown | Reply> | unknown;
}

export type AuthedRequest<B> = Request<B> & { requester: Requester };

/** Typed helper: a route whose handler always has a requester. */
export function authed<B>(route: Omit<Route<B>, 'auth' | 'handler'> & {
  handler(req: AuthedRequest<B>): Promise<unknown | Reply> | unknown;
}): Route<B> {
  return { ...route, auth: 'required', handler: route.handler as Route<B>['handler'] };
}


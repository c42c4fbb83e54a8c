/**
 * The koa application: error mapping, CORS, per-request logging, then the route
 * table. Unknown paths answer 404 M_UNRECOGNIZED, known paths with another method 405.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import { MatrixError, unknownError, unrecognized } from '../../spec/errors';
import { toMatrixError } from '../../spec/validate';
import type { Config } from '../config/schema';
import { readJsonObject } from './body';
import type { InFlight } from './in-flight';
import { RateLimiter } from './rate-limit';
import { Reply, type Requester, type Route } from './route';

export interface AppDeps {
  config: Config;
  log: Logger;
  routes: Route<any>[];
  /** Counts the requests being handled, so that stopping waits for them. */
  inFlight?: InFlight;
  /** Resolves an access token to its user and device, or throws M_UNKNOWN_TOKEN. */
  authenticate(token: string, client: { ip: string; userAgent?: string }): Promise<Requester>;
  /**
   * Checks the X-Matrix signature of a request to a route whose auth is 'server'
   * and resolves with the origin server's name, or throws 401 M_UNAUTHORIZED.
   * Without it, such routes answer 401.
   */
  authenticateServer?(request: ServerRequest): Promise<string>;
}

/** What a server's request signature covers, as received. */
export interface ServerRequest {
  method: string;
  /** The path and query as sent. */
  uri: string;
  /** The Authorization header, if any. */
  authorization: string | undefined;
  /** The parsed JSON body; undefined when the request has none. */
  body: unknown;
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization',
};

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  const router = new Router();
  const limiter = new RateLimiter();
  /** Routes without path parameters, found by one map lookup instead of trying every route's pattern. */
  const exact = new Map<string, Map<string, Koa.Middleware>>();
  for (const route of deps.routes) {
    const handle = handler(route, deps, limiter);
    if (route.path.includes(':')) router.register(route.path, [route.method], handle);
    else {
      if (!exact.has(route.path)) exact.set(route.path, new Map());
      exact.get(route.path)!.set(route.method, handle);
    }
  }

  app.use(async (ctx, next) => {
    const started = performance.now();
    ctx.set(CORS_HEADERS);
    try {
      if (ctx.method === 'OPTIONS') {
        ctx.status = 200;
        ctx.body = {};
        return;
      }
      const handle = exact.get(ctx.path)?.get(ctx.method);
      const dispatch = () => (handle ? handle(ctx, next) : next());
      await (deps.inFlight ? deps.inFlight.run(dispatch) : dispatch());
      if (ctx.body === undefined) {
        const known = router.match(ctx.path, ctx.method).path.length > 0 || exact.has(ctx.path);
        throw unrecognized(known ? 405 : 404);
      }
    } catch (err) {
      const error = err instanceof MatrixError ? err : internal(err, deps.log, ctx.path);
      ctx.status = error.status;
      ctx.body = error.toJSON();
      const retryMs = error.extra.retry_after_ms;
      if (typeof retryMs === 'number') ctx.set('Retry-After', String(Math.ceil(retryMs / 1000)));
    } finally {
      deps.log.info({
        method: ctx.method,
        path: ctx.state.route ?? ctx.path,
        status: ctx.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        user: ctx.state.userId,
      }, 'request');
    }
  });
  app.use(router.routes());
  return app;
}

function internal(err: unknown, log: Logger, path: string): MatrixError {
  log.error({ err, path }, 'unhandled error');
  return unknownError();
}

function bearerToken(ctx: Koa.Context): string | undefined {
  const header = ctx.get('Authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Malformed Authorization header', { soft_logout: false });
    return match[1];
  }
  const fromQuery = ctx.query.access_token;
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}

/** The koa handler of a route: authentication, rate limit, body, then the route's own handler. */
function handler(route: Route<any>, deps: AppDeps, limiter: RateLimiter): Koa.Middleware {
  const { config } = deps;
  return async (ctx: Koa.Context) => {
    ctx.state.route = route.path;
    const client = { ip: ctx.ip.replace(/^::ffff:/, ''), userAgent: ctx.get('User-Agent') || undefined };

    let requester: Requester | undefined;
    if (route.auth !== 'none' && route.auth !== 'server') {
      const token = bearerToken(ctx);
      if (token !== undefined) requester = await deps.authenticate(token, client);
      else if (route.auth === 'required') throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      if (requester?.isGuest && !route.guests) {
        throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', 'Guest access is not allowed for this endpoint');
      }
      ctx.state.userId = requester?.userId;
    }

    if (route.rateLimit && config.rate_limits.enabled) {
      const [key, bucket] =
        route.rateLimit === 'login' ? [`login:${client.ip}`, config.rate_limits.login]
        : requester ? [`user:${requester.userId}`, config.rate_limits.per_user]
        : [`ip:${client.ip}`, config.rate_limits.per_ip];
      const waitMs = limiter.take(key, bucket);
      if (waitMs > 0) {
        throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many requests', { retry_after_ms: waitMs });
      }
    }

    let body: unknown = undefined;
    // DELETE too: DELETE /devices/{deviceId} carries a UIA `auth` dict; an empty body reads as {}.
    if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'DELETE') {
      body = await readJsonObject(ctx.req, route.maxBodyBytes ?? config.max_request_body_bytes);
    }

    // A server's signature covers the body, so it is read first; checked before the body's schema.
    let origin: string | undefined;
    if (route.auth === 'server') {
      if (!deps.authenticateServer) throw new MatrixError(401, 'M_UNAUTHORIZED', 'This server does not accept federation requests');
      origin = await deps.authenticateServer({ method: ctx.method, uri: ctx.originalUrl, authorization: ctx.get('Authorization') || undefined, body });
      ctx.state.userId = origin;
    }

    if (body !== undefined && route.body && !route.body(body)) {
      throw toMatrixError(route.body.errors?.[0]);
    }

    const query: Record<string, string | undefined> = {};
    const queryAll: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(ctx.query)) {
      query[k] = Array.isArray(v) ? v[0] : v;
      queryAll[k] = Array.isArray(v) ? v : v === undefined ? [] : [v];
    }

    const res = ctx.res;
    let gone: AbortController | undefined;
    const result = await route.handler({
      params: ctx.params ?? {},
      query,
      queryAll,
      body,
      requester,
      origin,
      ip: client.ip,
      userAgent: client.userAgent,
      // Made on first use: only long-polls ask.
      get signal() {
        if (!gone) {
          const controller = (gone = new AbortController());
          if (res.closed && !res.writableFinished) controller.abort();
          else res.once('close', () => res.writableFinished || controller.abort());
        }
        return gone.signal;
      },
    });
    if (result instanceof Reply) {
      ctx.status = result.status;
      ctx.set(result.headers);
      ctx.body = result.body;
    } else {
      ctx.status = 200;
      ctx.body = result ?? {};
    }
  };
}

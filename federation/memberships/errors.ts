/**
 * What a client is told when a request to another server on its behalf
 * failed (joins, leaves, knocks, invites, alias and profile lookups). The
 * spec asks that a resident server's errors be passed through so users get
 * its reason (403 M_FORBIDDEN, 400 M_INCOMPATIBLE_ROOM_VERSION...), except
 * M_MISSING_PARAM and M_INVALID_PARAM, which mean our request was wrong: 5xx.
 */
import { MatrixError, type ErrCode } from '../../spec/errors';
import { FederationError } from '../client';

/** Statuses of another server's errors that mean the same to our client; a 401 (our signature) must not reach it as its own. */
const PASSED_THROUGH = new Set([400, 403, 404]);

export function clientError(err: unknown, what: string): MatrixError {
  if (err instanceof MatrixError) return err;
  if (err instanceof FederationError && err.kind === 'http' && err.errcode !== undefined && PASSED_THROUGH.has(err.status!)) {
    if (err.errcode !== 'M_MISSING_PARAM' && err.errcode !== 'M_INVALID_PARAM') {
      const body = err.body as Record<string, unknown> | undefined;
      const extra = typeof body?.room_version === 'string' ? { room_version: body.room_version } : {};
      return new MatrixError(err.status!, err.errcode as ErrCode, `${err.destination}: ${err.remoteError ?? err.message}`, extra);
    }
  }
  return new MatrixError(502, 'M_UNKNOWN', `${what}: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * Of the failures of one attempt per server, the one to report: a server's
 * refusal (403, then 400) says more than a room it does not know (404), which
 * says more than a server that could not be reached.
 */
export function mostTelling(errors: readonly MatrixError[]): MatrixError {
  const rank = (e: MatrixError) => (e.status === 403 ? 0 : e.status === 400 ? 1 : e.status === 404 ? 2 : 3);
  return [...errors].sort((a, b) => rank(a) - rank(b))[0] ?? new MatrixError(502, 'M_UNKNOWN', 'No server to ask');
}

/** A malformed answer from another server. */
export const malformed = (server: string, what: string): MatrixError => new MatrixError(502, 'M_UNKNOWN', `${server} answered with ${what}`);

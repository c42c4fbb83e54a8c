/** Matrix error responses: `{errcode, error}` plus the HTTP status the spec gives each code. */

export type ErrCode =
  | 'M_PROFILE_TOO_LARGE' | 'M_KEY_TOO_LARGE'
  | 'M_BAD_JSON' | 'M_NOT_JSON' | 'M_MISSING_PARAM' | 'M_INVALID_PARAM' | 'M_TOO_LARGE'
  | 'M_FORBIDDEN' | 'M_NOT_FOUND' | 'M_UNRECOGNIZED' | 'M_UNKNOWN'
  | 'M_MISSING_TOKEN' | 'M_UNKNOWN_TOKEN' | 'M_UNAUTHORIZED' | 'M_USER_DEACTIVATED'
  | 'M_LIMIT_EXCEEDED' | 'M_GUEST_ACCESS_FORBIDDEN'
  | 'M_USER_IN_USE' | 'M_INVALID_USERNAME' | 'M_EXCLUSIVE' | 'M_WEAK_PASSWORD'
  | 'M_THREEPID_NOT_FOUND' | 'M_THREEPID_AUTH_FAILED' | 'M_UNSUPPORTED_ROOM_VERSION'
  | 'M_ROOM_IN_USE'
  | 'M_UNABLE_TO_GRANT_JOIN' | 'M_UNABLE_TO_AUTHORISE_JOIN' | 'M_INCOMPATIBLE_ROOM_VERSION'
  | 'M_INVALID_SIGNATURE' | 'M_WRONG_ROOM_KEYS_VERSION';

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: ErrCode,
    message: string,
    /** Extra keys the spec defines for some codes (soft_logout, retry_after_ms, …). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);
export const notJson = (msg = 'Content is not valid JSON') => new MatrixError(400, 'M_NOT_JSON', msg);
export const missingParam = (msg: string) => new MatrixError(400, 'M_MISSING_PARAM', msg);
export const invalidParam = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);
export const forbidden = (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg);
export const notFound = (msg: string) => new MatrixError(404, 'M_NOT_FOUND', msg);
export const unrecognized = (status: 404 | 405, msg = 'Unrecognized request') => new MatrixError(status, 'M_UNRECOGNIZED', msg);
export const tooLarge = (msg: string) => new MatrixError(413, 'M_TOO_LARGE', msg);
export const unknownError = (msg = 'Internal server error') => new MatrixError(500, 'M_UNKNOWN', msg);

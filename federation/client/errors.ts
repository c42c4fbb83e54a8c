/** The one error type of outbound federation requests. */

export type FederationErrorKind =
  /** The destination answered with a status other than 2xx (`status`, and `errcode`/`remoteError` when the body is a Matrix error). */
  | 'http'
  /** No complete answer within the request's timeout. */
  | 'timeout'
  /** Every address of the destination is in ip_range_denylist. */
  | 'denied'
  /** DNS, connection or TLS failure, or the connection broke. */
  | 'network'
  /** A 2xx answer that is not JSON, or a body over the size limit. */
  | 'invalid_response'
  /** The destination is not a valid server name. */
  | 'invalid_destination'
  /** The request could not be built (its body cannot be signed). */
  | 'invalid_request'
  /** The client was closed. */
  | 'closed';

export interface FederationErrorDetails {
  status?: number;
  errcode?: string;
  remoteError?: string;
  /** The parsed body of an `http` error, when it was JSON. */
  body?: unknown;
  cause?: unknown;
}

export class FederationError extends Error {
  override readonly name = 'FederationError';
  readonly status?: number;
  /** The remote server's Matrix errcode, e.g. M_FORBIDDEN. */
  readonly errcode?: string;
  /** The remote server's `error` text. */
  readonly remoteError?: string;
  readonly body?: unknown;

  constructor(
    readonly destination: string,
    readonly kind: FederationErrorKind,
    message: string,
    details: FederationErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.errcode = details.errcode;
    this.remoteError = details.remoteError;
    this.body = details.body;
  }

  /** Whether trying again later may succeed: the destination could not be reached, or answered 5xx, 408 or 429. */
  get retryable(): boolean {
    if (this.kind === 'http') return this.status! >= 500 || this.status === 408 || this.status === 429;
    return this.kind === 'timeout' || this.kind === 'network' || this.kind === 'denied';
  }
}

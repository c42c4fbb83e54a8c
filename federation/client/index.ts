/**
 * Outbound federation: server discovery and signed requests to other
 * homeservers (docs/federation.md, "Server discovery and outbound requests").
 */
import { FederationClient, type FederationClientOptions } from './federation-client';

export { FederationClient, DEFAULT_MAX_RESPONSE_BYTES } from './federation-client';
export type { FederationClientOptions, FederationRequest, RequestOptions, QueryValue } from './federation-client';
export { FederationError } from './errors';
export type { FederationErrorKind } from './errors';
export { ServerResolver, tlsName } from './resolve';
export type { ResolvedServer } from './resolve';

/** The homeserver's federation client, built from its config; `close()` it on shutdown. */
export function createFederationClient(options: FederationClientOptions): FederationClient {
  return new FederationClient(options);
}

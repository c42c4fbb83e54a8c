/** What a client asks first: /versions and the .well-known documents. */
import { notFound } from '../../spec/errors';
import type { Route } from '../http/route';
import type { Services } from '../services';

/**
 * Spec versions we claim. A version is added here only once every endpoint it
 * requires is implemented; v1.3 is the first with refresh tokens.
 */
export const SPEC_VERSIONS = ['v1.1', 'v1.2', 'v1.3'];

export function discoveryRoutes(s: Services): Route[] {
  const clientBaseUrl = s.config.well_known.client_base_url ?? s.config.public_baseurl;
  return [
    {
      method: 'GET',
      path: '/_matrix/client/versions',
      auth: 'none',
      handler: () => ({ versions: SPEC_VERSIONS, unstable_features: {} }),
    },
    {
      method: 'GET',
      path: '/.well-known/matrix/client',
      auth: 'none',
      handler: () => {
        if (!clientBaseUrl) throw notFound('No client well-known configured');
        return { 'm.homeserver': { base_url: clientBaseUrl } };
      },
    },
    {
      method: 'GET',
      path: '/.well-known/matrix/server',
      auth: 'none',
      handler: () => {
        if (!s.config.well_known.server) throw notFound('No server well-known configured');
        return { 'm.server': s.config.well_known.server };
      },
    },
  ];
}

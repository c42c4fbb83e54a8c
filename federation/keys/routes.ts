/**
 * The key endpoints (keys_server.yaml, keys_query.yaml): our own keys, and
 * other servers' keys as a notary, each document signed by us as well.
 */
import type { Route } from '../../server/http/route';
import { invalidParam } from '../../spec/errors';
import { isValidServerName } from '../../spec/identifiers';
import { keyQueryBody, type KeyQueryBody, type ServerKeysDocument } from '../../spec/schemas/server-keys';
import type { KeyRing } from './key-ring';
import type { OwnServerKeys } from './server-keys';

export interface KeyRouteDeps {
  own: OwnServerKeys;
  keyRing: Pick<KeyRing, 'documentsOf'>;
  now(): number;
}

/** A notary answers for this many servers per request at most; more is refused rather than fetched. */
export const MAX_SERVERS_PER_QUERY = 100;

export function keyRoutes(deps: KeyRouteDeps): Route<any>[] {
  const { own, keyRing } = deps;
  /** The documents we hold for a server, each signed by us as notary. */
  const notarised = async (serverName: string, keyIds: string[], minimumValidUntilTs: number | undefined) => {
    const documents = await keyRing.documentsOf(serverName, keyIds, minimumValidUntilTs ?? deps.now());
    return documents.map((document) => own.sign(document));
  };
  const serverKeys = { method: 'GET', auth: 'none', handler: () => own.document() } as const;

  return [
    { ...serverKeys, path: '/_matrix/key/v2/server' },
    // Deprecated: the key ID was once part of the path; the answer is the same.
    { ...serverKeys, path: '/_matrix/key/v2/server/:keyId' },
    {
      method: 'GET',
      path: '/_matrix/key/v2/query/:serverName',
      auth: 'none',
      rateLimit: 'request',
      handler: async (req) => {
        const serverName = req.params.serverName;
        if (!isValidServerName(serverName)) throw invalidParam(`${JSON.stringify(serverName)} is not a server name`);
        const minimum = timestampParam(req.query.minimum_valid_until_ts);
        return { server_keys: await notarised(serverName, [], minimum) };
      },
    },
    {
      method: 'POST',
      path: '/_matrix/key/v2/query',
      auth: 'none',
      rateLimit: 'request',
      body: keyQueryBody,
      handler: async (req) => {
        const queries = Object.entries((req.body as KeyQueryBody).server_keys);
        if (queries.length > MAX_SERVERS_PER_QUERY) throw invalidParam(`At most ${MAX_SERVERS_PER_QUERY} servers per query`);
        const answers = await Promise.all(
          queries.map(([serverName, byKeyId]) => {
            // A name that cannot be a server has no keys to find: it is left out, like a server that cannot be reached.
            if (!isValidServerName(serverName)) return [] as ServerKeysDocument[];
            const criteria = Object.values(byKeyId).map((c) => c.minimum_valid_until_ts ?? deps.now());
            return notarised(serverName, Object.keys(byKeyId), criteria.length > 0 ? Math.max(...criteria) : undefined);
          }),
        );
        return { server_keys: answers.flat() };
      },
    },
  ];
}

/** An optional integer query parameter. */
function timestampParam(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(value)) throw invalidParam('minimum_valid_until_ts must be an integer');
  return Number(value);
}

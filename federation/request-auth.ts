/**
 * Request Authentication (server-server-api): a request from another server
 * carries an `Authorization: X-Matrix …` header whose signature, by one of
 * the origin's current keys, covers the method, URI, both server names and
 * the body.
 */
import type { ServerRequest } from '../server/http/app';
import { MatrixError } from '../spec/errors';
import { isValidServerName } from '../spec/identifiers';
import { parseXMatrix, verifyXMatrix } from '../spec/x-matrix';
import type { KeyRing } from './keys/key-ring';
import { REQUEST_SIGNATURE } from './keys/key-validity';

export interface RequestAuthDeps {
  /** Our server name: the destination every request must be signed for. */
  serverName: string;
  keyRing: Pick<KeyRing, 'publicKey'>;
  now(): number;
}

const unauthorized = (why: string) => new MatrixError(401, 'M_UNAUTHORIZED', why);

/** Resolves with the origin server's name, or rejects with 401 M_UNAUTHORIZED. */
export type ServerAuthenticator = (request: ServerRequest) => Promise<string>;

export function createRequestAuthenticator(deps: RequestAuthDeps): ServerAuthenticator {
  return async function authenticateServer(request: ServerRequest): Promise<string> {
    const auth = parseXMatrix(request.authorization);
    if (auth === undefined) throw unauthorized('Missing or malformed X-Matrix Authorization header');
    // Servers before v1.3 send no destination; one naming another server is refused.
    if (auth.destination !== undefined && auth.destination !== deps.serverName) {
      throw unauthorized(`The request is signed for ${auth.destination}, not this server`);
    }
    if (!isValidServerName(auth.origin)) throw unauthorized('The origin is not a valid server name');
    const key = await deps.keyRing.publicKey(auth.origin, auth.key, deps.now(), REQUEST_SIGNATURE);
    if (key === undefined) throw unauthorized(`Unknown key ${auth.key} of ${auth.origin}`);
    const signed = { method: request.method, uri: request.uri, origin: auth.origin, destination: deps.serverName, content: request.body };
    if (!verifyXMatrix(signed, auth, key)) throw unauthorized('Invalid X-Matrix signature');
    return auth.origin;
  };
}

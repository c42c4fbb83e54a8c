/** federation/request-auth.ts: X-Matrix request authentication, over real HTTP between key servers. */
import assert from 'node:assert/strict';
import type { Config } from '../server/config/schema';
import { signingKeyPair, type SigningKeyPair } from '../spec/signing';
import { parseSigningKey } from '../spec/signing-key';
import { xMatrixAuthorization } from '../spec/x-matrix';
import { startKeyServer, type KeyServer } from './helpers/key-server';
import { expectError, request, type Response } from './helpers/server';

const keyPair = (config: Config): SigningKeyPair => signingKeyPair(parseSigningKey(config.signing_key));

interface Signed {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  body?: unknown;
  /** What the signature is made over, where it differs from what is sent. */
  signedPath?: string;
  signedBody?: unknown;
  signedMethod?: string;
  origin?: string;
  destination?: string;
  key?: SigningKeyPair;
  /** Rewrites the header before sending. */
  header?: (header: string) => string | undefined;
}

describe('federation: request authentication', () => {
  let a: KeyServer;
  let b: KeyServer;
  before(async () => {
    a = await startKeyServer();
    b = await startKeyServer();
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  /** A request from `a` to `b`'s test route with server auth. */
  async function send(options: Signed): Promise<Response> {
    const origin = options.origin ?? a.serverName;
    const destination = options.destination ?? b.serverName;
    const content = 'signedBody' in options ? options.signedBody : options.body;
    let header: string | undefined = xMatrixAuthorization(
      { method: options.signedMethod ?? options.method, uri: options.signedPath ?? options.path, origin, destination, ...(content === undefined ? {} : { content }) },
      options.key ?? keyPair(a.config),
    );
    if (options.header) header = options.header(header);
    return request(b.baseUrl, options.method, options.path, { body: options.body, headers: header === undefined ? {} : { Authorization: header } });
  }

  const path = '/_matrix/federation/v1/test-echo/x?since=1&limit=2';

  it('accepts a request signed by the origin\'s current key, and hands the route the origin', async () => {
    const put = await send({ method: 'PUT', path, body: { pdus: [{ n: 1 }], edus: [] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body, { origin: a.serverName, body: { pdus: [{ n: 1 }], edus: [] } });
    const get = await send({ method: 'GET', path });
    assert.equal(get.status, 200, JSON.stringify(get.body));
    assert.equal(get.body.origin, a.serverName);
    // The key was fetched from a once.
    assert.deepEqual(b.fetch.calls, [`server ${a.serverName}`]);
  });

  it('accepts a header without destination (servers before v1.3), and any header syntax RFC 9110 allows', async () => {
    const noDestination = await send({ method: 'GET', path, header: (h) => h.replace(/,destination="[^"]*"/, '') });
    assert.equal(noDestination.status, 200, JSON.stringify(noDestination.body));
    const reordered = await send({
      method: 'GET',
      path,
      header: (h) => {
        const params = h.slice('X-Matrix '.length).split(',').reverse().map((p) => p.replace(/^(\w+)=/, (_, name: string) => `${name.toUpperCase()}=`));
        return `x-matrix  ${params.join(' ,\t')},extra="ignored"`;
      },
    });
    assert.equal(reordered.status, 200, JSON.stringify(reordered.body));
  });

  const MALFORMED = /Missing or malformed X-Matrix/;
  const BAD_SIGNATURE = /Invalid X-Matrix signature/;
  /** Each made once the servers run (some need a's key), with the reason it is refused. */
  const refusals: [string, () => Signed, RegExp][] = [
    ['no Authorization header', () => ({ method: 'GET', path, header: () => undefined }), MALFORMED],
    ['a Bearer token', () => ({ method: 'GET', path, header: () => 'Bearer abc' }), MALFORMED],
    ['an unparsable header', () => ({ method: 'GET', path, header: (h) => h.replace(/,/g, ' ') }), MALFORMED],
    ['a header without sig', () => ({ method: 'GET', path, header: (h) => h.replace(/,sig="[^"]*"/, '') }), MALFORMED],
    ['a bad signature', () => ({ method: 'GET', path, header: (h) => h.replace(/sig="[^"]{4}/, 'sig="AAAA') }), BAD_SIGNATURE],
    ['a signature that is not Base64', () => ({ method: 'GET', path, header: (h) => h.replace(/sig="[^"]*"/, 'sig="!!"') }), BAD_SIGNATURE],
    ['a request signed for another destination', () => ({ method: 'GET', path, destination: 'elsewhere.example' }), /signed for elsewhere\.example/],
    ['a header naming another destination than the one signed', () => ({ method: 'GET', path, header: (h) => h.replace(/destination="[^"]*"/, 'destination="elsewhere.example"') }), /signed for elsewhere\.example/],
    ['an origin that is not a server name', () => ({ method: 'GET', path, origin: 'not a server' }), /not a valid server name/],
    ['an unknown key', () => ({ method: 'GET', path, key: signingKeyPair({ keyId: 'ed25519:unknown', seed: Buffer.alloc(32, 4) }) }), /Unknown key ed25519:unknown/],
    ['the known key ID with another key', () => ({ method: 'GET', path, key: signingKeyPair({ keyId: keyPair(a.config).keyId, seed: Buffer.alloc(32, 4) }) }), BAD_SIGNATURE],
    ['a tampered body', () => ({ method: 'PUT', path, body: { pdus: [{ n: 2 }] }, signedBody: { pdus: [{ n: 1 }] } }), BAD_SIGNATURE],
    ['a body that was not signed', () => ({ method: 'PUT', path, body: { pdus: [] }, signedBody: undefined }), BAD_SIGNATURE],
    ['a tampered URI', () => ({ method: 'GET', path, signedPath: path.replace('limit=2', 'limit=3') }), BAD_SIGNATURE],
    ['a URI without the query that was signed', () => ({ method: 'GET', path: '/_matrix/federation/v1/test-echo/x', signedPath: path }), BAD_SIGNATURE],
    ['another path', () => ({ method: 'GET', path: path.replace('/x?', '/y?'), signedPath: path }), BAD_SIGNATURE],
    ['another method', () => ({ method: 'POST', path, body: {}, signedMethod: 'PUT' }), BAD_SIGNATURE],
  ];
  for (const [what, options, reason] of refusals) {
    it(`refuses ${what} with 401 M_UNAUTHORIZED`, async () => {
      const res = await send(options());
      expectError(res, 401, 'M_UNAUTHORIZED');
      assert.match(res.body.error, reason);
    });
  }

  it('refuses requests signed with an old key, which may only sign events', async () => {
    const old = signingKeyPair(parseSigningKey('ed25519 retired ' + Buffer.alloc(32, 6).toString('base64')));
    const c = await startKeyServer({ overrides: { old_signing_keys: { [old.keyId]: { key: old.publicKeyBase64, expired_ts: Date.now() + 60_000 } } } });
    try {
      const header = xMatrixAuthorization({ method: 'GET', uri: path, origin: c.serverName, destination: b.serverName }, old);
      expectError(await request(b.baseUrl, 'GET', path, { headers: { Authorization: header } }), 401, 'M_UNAUTHORIZED');
      const current = xMatrixAuthorization({ method: 'GET', uri: path, origin: c.serverName, destination: b.serverName }, keyPair(c.config));
      assert.equal((await request(b.baseUrl, 'GET', path, { headers: { Authorization: current } })).status, 200);
    } finally {
      await c.stop();
    }
  });

  it('refuses a request from a server whose keys cannot be fetched', async () => {
    const gone = await startKeyServer();
    const header = xMatrixAuthorization({ method: 'GET', uri: path, origin: gone.serverName, destination: b.serverName }, keyPair(gone.config));
    await gone.stop();
    const res = await request(b.baseUrl, 'GET', path, { headers: { Authorization: header } });
    expectError(res, 401, 'M_UNAUTHORIZED');
    assert.match(res.body.error, /Unknown key/);
  });
});

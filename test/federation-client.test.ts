/**
 * The outbound federation client: TLS to a Weft server's TLS listener, X-Matrix
 * signatures checked by a plain https server, discovery end to end with
 * injected DNS and well-known answers, the address policy, timeouts, size
 * limits and errors. Everything listens on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { SrvRecord } from 'node:dns';
import pino from 'pino';
import { createFederationClient, FederationError, type FederationClient } from '../federation/client';
import type { FederationClientOptions } from '../federation/client/federation-client';
import type { WellKnownResponse } from '../federation/client/well-known';
import type { Config } from '../server/config/schema';
import { parseSigningKey } from '../spec/signing-key';
import { signingKeyPair } from '../spec/signing';
import { parseXMatrix, verifyXMatrix } from '../spec/x-matrix';
import { startServer, testConfig, type DeepPartial, type TestServer } from './helpers/server';
import { json, startTlsServer, TLS_FIXTURE, type ReceivedRequest, type TlsTestServer } from './helpers/tls';

const ORIGIN = 'origin.test';
const log = pino({ level: 'silent' });

type Seams = Omit<FederationClientOptions, 'config' | 'log'>;

function clientFor(overrides: DeepPartial<Config> = {}, seams: Seams = {}): { client: FederationClient; config: Config } {
  const config = testConfig('sqlite::memory:', { server_name: ORIGIN, ...overrides, federation: { verify_tls: false, ...overrides.federation } });
  return { client: createFederationClient({ config, log, ...seams }), config };
}

/** Rejects with the FederationError `promise` rejects with. */
async function federationError(promise: Promise<unknown>): Promise<FederationError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof FederationError, `expected a FederationError, got ${err}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

/** Asserts that `req` carries a valid X-Matrix signature of ORIGIN under `config`'s key, for `destination`. */
function assertSigned(req: ReceivedRequest, config: Config, destination: string): void {
  const auth = parseXMatrix(req.headers.authorization);
  assert.ok(auth, `no X-Matrix header: ${req.headers.authorization}`);
  const key = signingKeyPair(parseSigningKey(config.signing_key));
  assert.deepEqual({ origin: auth.origin, destination: auth.destination, key: auth.key }, { origin: ORIGIN, destination, key: key.keyId });
  const content = req.body === '' ? undefined : JSON.parse(req.body);
  assert.equal(verifyXMatrix({ method: req.method, uri: req.url, origin: ORIGIN, destination, content }, auth, key.publicKeyBase64), true, 'signature');
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('federation client: TLS to a Weft TLS listener', () => {
  let server: TestServer;
  let destination: string;
  before(async () => {
    server = await startServer({ listeners: [{ bind_address: '127.0.0.1', port: 0, tls: TLS_FIXTURE, resources: ['client', 'federation'] }] });
    destination = new URL(server.baseUrl).host;
    assert.match(server.baseUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  });
  after(() => server.stop());

  it('with verify_tls false reaches it by 127.0.0.1:{port}, and a Matrix error becomes a FederationError', async () => {
    const { client } = clientFor();
    try {
      const versions = await client.get<{ versions: string[] }>(destination, '/_matrix/client/versions', { signed: false });
      assert.ok(Array.isArray(versions.versions) && versions.versions.length > 0, JSON.stringify(versions));
      const err = await federationError(client.get(destination, '/_matrix/federation/v1/no-such-endpoint'));
      assert.deepEqual([err.kind, err.status, err.errcode, err.destination, err.retryable], ['http', 404, 'M_UNRECOGNIZED', destination, false]);
      assert.equal(typeof err.remoteError, 'string');
      assert.match(err.message, /^GET 127\.0\.0\.1:\d+\/_matrix\/federation\/v1\/no-such-endpoint: HTTP 404 M_UNRECOGNIZED/);
    } finally {
      await client.close();
    }
  });

  it('with verify_tls true refuses its self-signed certificate', async () => {
    const { client } = clientFor({ federation: { verify_tls: true } });
    try {
      const err = await federationError(client.get(destination, '/_matrix/client/versions', { signed: false }));
      assert.equal(err.kind, 'network');
      assert.match(err.message, /self[- ]signed/i);
    } finally {
      await client.close();
    }
  });
});

describe('federation client: requests', () => {
  let remote: TlsTestServer;
  let client: FederationClient;
  let config: Config;
  let direct: string;
  const names: Record<string, string[]> = { localhost: ['127.0.0.1'], 'target.test': ['127.0.0.1'], 'plain.test': ['127.0.0.1'], 'mixed.test': ['10.0.0.1', '127.0.0.1'] };
  const wellKnown: Record<string, WellKnownResponse> = {};
  const srvRecords: Record<string, SrvRecord[]> = {};
  const seams = (): Seams => ({
    lookup: async (hostname) => {
      if (!names[hostname]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return names[hostname].map((address) => ({ address, family: net.isIP(address) }));
    },
    fetchWellKnown: async (hostname) => wellKnown[hostname] ?? { status: 404, headers: {}, body: '' },
    resolveSrv: async (name) => srvRecords[name] ?? Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })),
    defaultPort: remote.port,
  });

  before(async () => {
    remote = await startTlsServer();
    direct = `127.0.0.1:${remote.port}`;
    ({ client, config } = clientFor({}, seams()));
  });
  beforeEach(() => {
    remote.requests.length = 0;
    remote.handler = (_req, res) => json(res, 200, { ok: true });
  });
  after(async () => {
    await client.close();
    await remote.stop();
  });

  it('signs a PUT with X-Matrix for the destination, sends the JSON body, Host and no SNI for an IP literal', async () => {
    const body = { pdus: [], edus: [{ edu_type: 'm.typing', content: { room_id: '!r:origin.test', typing: true, note: 'ünïcödé' } }] };
    const answer = await client.put(direct, '/_matrix/federation/v1/send/txn%2F1', body, { query: { a: 'x y&z', ver: ['1', '2'], n: 3, skip: undefined } });
    assert.deepEqual(answer, { ok: true });
    const [req] = remote.requests;
    assert.equal(req.method, 'PUT');
    assert.equal(req.url, '/_matrix/federation/v1/send/txn%2F1?a=x%20y%26z&ver=1&ver=2&n=3');
    assert.equal(req.headers.host, direct);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(req.body), body);
    assert.equal(req.servername, false, 'no SNI for a certificate expected to be for an IP address');
    assertSigned(req, config, direct);
  });

  it('signs a GET without content, sends {} for a POST without body, and leaves unsigned requests unsigned', async () => {
    await client.get(direct, '/_matrix/federation/v1/state_ids/!r:x', { query: { event_id: '$e' } });
    await client.post(direct, '/_matrix/federation/v1/user/keys/query', undefined);
    await client.get(direct, '/_matrix/key/v2/server', { signed: false });
    const [get, post, keys] = remote.requests;
    assert.equal(get.body, '');
    assert.equal(get.headers['content-type'], undefined);
    assertSigned(get, config, direct);
    assert.equal(post.body, '{}');
    assertSigned(post, config, direct);
    assert.equal(keys.url, '/_matrix/key/v2/server');
    assert.equal(keys.headers.authorization, undefined);
  });

  it('a signature does not verify for another destination (the check above can fail)', async () => {
    await client.get(direct, '/_matrix/federation/v1/version');
    assert.throws(() => assertSigned(remote.requests[0], config, 'other.test'));
  });

  it('follows well-known delegation: Host and SNI of the delegated name, X-Matrix destination of the original', async () => {
    wellKnown['remote.test'] = { status: 200, headers: {}, body: JSON.stringify({ 'm.server': `localhost:${remote.port}` }) };
    await client.get('remote.test', '/_matrix/federation/v1/version');
    const [req] = remote.requests;
    assert.equal(req.headers.host, `localhost:${remote.port}`);
    assert.equal(req.servername, 'localhost');
    assertSigned(req, config, 'remote.test');
  });

  it('follows _matrix-fed SRV records in order, past a target that does not answer; Host and SNI of the server name', async () => {
    srvRecords['_matrix-fed._tcp.srv.test'] = [
      { name: 'target.test', port: remote.port, priority: 20, weight: 0 },
      { name: 'localhost', port: await closedPort(), priority: 10, weight: 0 },
    ];
    await client.get('srv.test', '/_matrix/federation/v1/version');
    const [req] = remote.requests;
    assert.equal(req.headers.host, 'srv.test');
    assert.equal(req.servername, 'srv.test');
    assertSigned(req, config, 'srv.test');
  });

  it('falls back to the hostname on the default port', async () => {
    await client.get('plain.test', '/_matrix/federation/v1/version');
    assert.equal(remote.requests[0].headers.host, 'plain.test');
    assert.equal(remote.requests[0].servername, 'plain.test');
  });

  it('connects to an allowed address of a name that also has denied ones', async () => {
    await client.get(`mixed.test:${remote.port}`, '/_matrix/federation/v1/version');
    assert.equal(remote.requests[0].headers.host, `mixed.test:${remote.port}`);
  });

  it('reuses one connection per destination', async () => {
    const { client: fresh } = clientFor({}, seams());
    try {
      const before = remote.connections;
      for (let i = 0; i < 6; i++) await fresh.get(direct, '/_matrix/federation/v1/version');
      // undici's Pool may open a second connection while the first is being released; no more.
      assert.ok(remote.connections - before <= 2, `${remote.connections - before} connections for 6 requests`);
    } finally {
      await fresh.close();
    }
  });

  it('turns error answers into FederationErrors with status and errcode', async () => {
    remote.handler = (req, res) => {
      if (req.url.endsWith('/forbidden')) json(res, 403, { errcode: 'M_FORBIDDEN', error: 'You are not invited' });
      else if (req.url.endsWith('/busy')) json(res, 429, { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down', retry_after_ms: 5 });
      else if (req.url.endsWith('/html')) res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
      else if (req.url.endsWith('/notjson')) res.writeHead(200, { 'content-type': 'application/json' }).end('{"half":');
      else json(res, 200, { big: 'x'.repeat(5000) });
    };
    const forbidden = await federationError(client.get(direct, '/_matrix/federation/v1/forbidden'));
    assert.deepEqual(
      [forbidden.kind, forbidden.status, forbidden.errcode, forbidden.remoteError, forbidden.retryable],
      ['http', 403, 'M_FORBIDDEN', 'You are not invited', false],
    );
    const busy = await federationError(client.get(direct, '/_matrix/federation/v1/busy'));
    assert.deepEqual([busy.status, busy.errcode, busy.retryable, (busy.body as any).retry_after_ms], [429, 'M_LIMIT_EXCEEDED', true, 5]);
    const html = await federationError(client.get(direct, '/_matrix/federation/v1/html'));
    assert.deepEqual([html.kind, html.status, html.errcode, html.body, html.retryable], ['http', 502, undefined, undefined, true]);
    const notJson = await federationError(client.get(direct, '/_matrix/federation/v1/notjson'));
    assert.equal(notJson.kind, 'invalid_response');
    const big = await federationError(client.get(direct, '/_matrix/federation/v1/big', { maxResponseBytes: 1000 }));
    assert.equal(big.kind, 'invalid_response');
    assert.match(big.message, /exceeds 1000 bytes/);
    assert.ok(await client.get(direct, '/_matrix/federation/v1/big'), 'the default limit allows it');
  });

  it('times out a destination that does not answer', async () => {
    remote.handler = () => {};
    let started = Date.now();
    const err = await federationError(client.get(direct, '/_matrix/federation/v1/version', { timeoutMs: 300 }));
    assert.deepEqual([err.kind, err.retryable], ['timeout', true]);
    assert.ok(Date.now() - started < 2000, 'within the timeout');
    const { client: quick } = clientFor({ federation: { request_timeout_ms: 200 } }, seams());
    try {
      started = Date.now();
      const slow = await federationError(quick.get(direct, '/_matrix/federation/v1/version'));
      assert.equal(slow.kind, 'timeout', slow.message);
      assert.ok(Date.now() - started < 2000, 'federation.request_timeout_ms');
    } finally {
      await quick.close();
    }
  });

  it('times out a destination that accepts the connection and never answers the TLS handshake', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets: net.Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    try {
      const started = Date.now();
      const err = await federationError(client.get(`127.0.0.1:${(silent.address() as net.AddressInfo).port}`, '/_matrix/federation/v1/version', { timeoutMs: 300 }));
      assert.equal(err.kind, 'timeout', err.message);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses a destination that is not a server name, or has no address', async () => {
    for (const bad of ['not_valid.test', 'x.test:0', '']) assert.equal((await federationError(client.get(bad, '/_matrix/federation/v1/version'))).kind, 'invalid_destination', bad);
    const err = await federationError(client.get(`nowhere.test:${remote.port}`, '/_matrix/federation/v1/version'));
    assert.equal(err.kind, 'network');
    assert.match(err.message, /ENOTFOUND/);
    assert.equal(remote.requests.length, 0);
  });

  it('fails what is in flight, and everything after, once closed', async () => {
    const { client: closing } = clientFor({}, seams());
    remote.handler = () => {};
    const pending = federationError(closing.get(direct, '/_matrix/federation/v1/version'));
    while (remote.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await closing.close();
    assert.equal((await pending).kind, 'closed');
    assert.equal((await federationError(closing.get(direct, '/_matrix/federation/v1/version'))).kind, 'closed');
  });
});

describe('federation client: the outbound address policy', () => {
  let remote: TlsTestServer;
  before(async () => (remote = await startTlsServer()));
  after(() => remote.stop());

  it('with the default denylist and no allowlist, never connects to loopback, named or literal', async () => {
    const { client } = clientFor(
      { ip_range_allowlist: [] },
      { lookup: async () => [{ address: '127.0.0.1', family: 4 }], fetchWellKnown: async () => ({ status: 404, headers: {}, body: '' }), resolveSrv: async () => [] },
    );
    try {
      for (const destination of [`127.0.0.1:${remote.port}`, `[::ffff:127.0.0.1]:${remote.port}`, `sneaky.test:${remote.port}`]) {
        const err = await federationError(client.get(destination, '/_matrix/federation/v1/version'));
        assert.equal(err.kind, 'denied', `${destination}: ${err.message}`);
        assert.match(err.message, /ip_range_denylist/);
      }
      assert.equal(remote.connections, 0);
      assert.equal(remote.requests.length, 0);
    } finally {
      await client.close();
    }
  });
});

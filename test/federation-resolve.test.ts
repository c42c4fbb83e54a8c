/**
 * Server discovery (server-server-api, "Resolving server names"): the server
 * name grammar, every resolution step with injected well-known answers, SRV
 * records and clock, the well-known cache, and the real well-known fetcher
 * against a TLS server on loopback.
 */
import assert from 'node:assert/strict';
import type { SrvRecord } from 'node:dns';
import { Agent } from 'undici';
import { ServerResolver, tlsName, InvalidServerNameError, WELL_KNOWN_CACHE } from '../federation/client/resolve';
import { orderSrvRecords } from '../federation/client/srv';
import { cacheLifetimeFromHeaders, wellKnownFetcher, type WellKnownResponse } from '../federation/client/well-known';
import { guardedConnector } from '../server/net/connector';
import { IpRangePolicy } from '../server/net/ip-ranges';
import { formatServerName, parseServerName } from '../spec/server-name';
import { json, startTlsServer, type TlsTestServer } from './helpers/tls';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;

const ok = (body: unknown, headers: Record<string, string> = {}): WellKnownResponse => ({ status: 200, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const notFound: WellKnownResponse = { status: 404, headers: {}, body: '' };
const srv = (name: string, port: number, priority = 10, weight = 0): SrvRecord => ({ name, port, priority, weight });

/** A resolver over fake DNS and well-known answers, counting what it asks. */
function fakeResolver(wellKnown: Record<string, WellKnownResponse | Error> = {}, srvRecords: Record<string, SrvRecord[] | Error> = {}, defaultPort?: number) {
  const asked = { wellKnown: [] as string[], srv: [] as string[] };
  let time = 1_000_000;
  const resolver = new ServerResolver({
    fetchWellKnown: async (hostname) => {
      asked.wellKnown.push(hostname);
      const answer = wellKnown[hostname] ?? notFound;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    resolveSrv: async (name) => {
      asked.srv.push(name);
      const records = srvRecords[name];
      if (records instanceof Error) throw records;
      if (!records) throw Object.assign(new Error(`queryDns ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return records;
    },
    defaultPort,
    now: () => time,
  });
  return { resolver, asked, wellKnown, advance: (ms: number) => (time += ms) };
}

describe('server names (appendices grammar)', () => {
  it('parses the examples of the spec', () => {
    assert.deepEqual(parseServerName('matrix.org'), { hostname: 'matrix.org', ip: 0 });
    assert.deepEqual(parseServerName('matrix.org:8888'), { hostname: 'matrix.org', port: 8888, ip: 0 });
    assert.deepEqual(parseServerName('1.2.3.4'), { hostname: '1.2.3.4', ip: 4 });
    assert.deepEqual(parseServerName('1.2.3.4:1234'), { hostname: '1.2.3.4', port: 1234, ip: 4 });
    assert.deepEqual(parseServerName('[1234:5678::abcd]'), { hostname: '1234:5678::abcd', ip: 6 });
    assert.deepEqual(parseServerName('[1234:5678::abcd]:5678'), { hostname: '1234:5678::abcd', port: 5678, ip: 6 });
    assert.deepEqual(parseServerName('[::ffff:1.2.3.4]'), { hostname: '::ffff:1.2.3.4', ip: 6 });
    assert.deepEqual(parseServerName('localhost'), { hostname: 'localhost', ip: 0 });
  });

  it('refuses what the grammar does not allow', () => {
    for (const bad of ['', ':8448', 'a_b.org', 'example.org:', 'example.org:0', 'example.org:65536', 'example.org:123456', 'example.org:80:80', '[::1', '::1', '[::1]x', '[zz::1]', '[1.2.3.4]', '1.2.3.256', '999.1.1.1:8448', 'ex ample.org', 'a'.repeat(256)]) {
      assert.equal(parseServerName(bad), undefined, bad);
    }
  });

  it('formats hostname and port back into a server name', () => {
    assert.equal(formatServerName('example.org'), 'example.org');
    assert.equal(formatServerName('example.org', 443), 'example.org:443');
    assert.equal(formatServerName('::1', 8448), '[::1]:8448');
    assert.equal(formatServerName('1.2.3.4'), '1.2.3.4');
  });
});

describe('SRV record order (RFC 2782)', () => {
  it('tries lower priorities first, drops "." targets, and orders by weight within a priority', () => {
    const records = [srv('b', 2, 20, 0), srv('a', 1, 10, 0), srv('.', 3, 5, 0), srv('c', 3, 30, 0)];
    assert.deepEqual(orderSrvRecords(records), [{ hostname: 'a', port: 1 }, { hostname: 'b', port: 2 }, { hostname: 'c', port: 3 }]);
    const weighted = [srv('light', 1, 10, 10), srv('heavy', 2, 10, 90)];
    // The random draw lands in the running sum: 0..10 picks light, 11..100 picks heavy.
    assert.deepEqual(orderSrvRecords(weighted, () => 0.05).map((t) => t.hostname), ['light', 'heavy']);
    assert.deepEqual(orderSrvRecords(weighted, () => 0.5).map((t) => t.hostname), ['heavy', 'light']);
    const counts = { light: 0, heavy: 0 };
    for (let i = 0; i < 2000; i++) counts[orderSrvRecords(weighted)[0].hostname as 'light' | 'heavy']++;
    assert.ok(counts.heavy > counts.light * 4, JSON.stringify(counts));
    assert.deepEqual(orderSrvRecords([srv('fed.example.org.', 8448)]), [{ hostname: 'fed.example.org', port: 8448 }], 'a trailing dot goes');
    assert.deepEqual(orderSrvRecords([srv('.', 0)]), []);
  });
});

describe('cache lifetime of a well-known answer', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads Cache-Control, then Expires', () => {
    assert.equal(cacheLifetimeFromHeaders({ 'cache-control': 'public, max-age=600' }, now), 600_000);
    assert.equal(cacheLifetimeFromHeaders({ 'cache-control': 'max-age="30"' }, now), 30_000);
    assert.equal(cacheLifetimeFromHeaders({ 'cache-control': 'no-store' }, now), 0);
    assert.equal(cacheLifetimeFromHeaders({ 'cache-control': 'max-age=600, no-cache' }, now), 0);
    assert.equal(cacheLifetimeFromHeaders({ 'cache-control': 'max-age=60', expires: 'Thu, 01 Jan 2026 05:00:00 GMT' }, now), 60_000);
    assert.equal(cacheLifetimeFromHeaders({ expires: 'Thu, 01 Jan 2026 05:00:00 GMT' }, now), 5 * HOUR);
    assert.equal(cacheLifetimeFromHeaders({ expires: 'Thu, 01 Jan 2026 05:00:00 GMT', date: 'Thu, 01 Jan 2026 04:00:00 GMT' }, now), HOUR, 'against the Date header');
    assert.equal(cacheLifetimeFromHeaders({ expires: '0' }, now), 0);
    assert.equal(cacheLifetimeFromHeaders({ expires: 'Wed, 31 Dec 2025 00:00:00 GMT' }, now), 0);
    assert.equal(cacheLifetimeFromHeaders({}, now), undefined);
    assert.equal(cacheLifetimeFromHeaders({ 'cache-control': 'public' }, now), undefined);
  });
});

describe('resolving server names', () => {
  it('1: an IP literal is used as it is, with its port or 8448, without well-known or SRV', async () => {
    const { resolver, asked } = fakeResolver();
    assert.deepEqual(await resolver.resolve('1.2.3.4'), { host: '1.2.3.4', targets: [{ hostname: '1.2.3.4', port: 8448 }] });
    assert.deepEqual(await resolver.resolve('1.2.3.4:1234'), { host: '1.2.3.4:1234', targets: [{ hostname: '1.2.3.4', port: 1234 }] });
    const v6 = await resolver.resolve('[2001:db8::1]');
    assert.deepEqual(v6, { host: '[2001:db8::1]', targets: [{ hostname: '2001:db8::1', port: 8448 }] });
    assert.equal(tlsName(v6), '2001:db8::1');
    assert.deepEqual(await resolver.resolve('[2001:db8::1]:8449'), { host: '[2001:db8::1]:8449', targets: [{ hostname: '2001:db8::1', port: 8449 }] });
    assert.equal(tlsName(await resolver.resolve('1.2.3.4:1234')), '1.2.3.4');
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  it('2: a hostname with an explicit port is used as it is, Host with the port, certificate for the hostname', async () => {
    const { resolver, asked } = fakeResolver({ 'example.test': ok({ 'm.server': 'elsewhere.test' }) });
    const resolved = await resolver.resolve('example.test:1234');
    assert.deepEqual(resolved, { host: 'example.test:1234', targets: [{ hostname: 'example.test', port: 1234 }] });
    assert.equal(tlsName(resolved), 'example.test');
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  it('3.1: well-known delegation to an IP literal, with or without a port', async () => {
    const { resolver, asked } = fakeResolver({
      'v4.test': ok({ 'm.server': '5.6.7.8' }),
      'v4port.test': ok({ 'm.server': '5.6.7.8:9000' }),
      'v6.test': ok({ 'm.server': '[2001:db8::5]:9001' }),
    });
    assert.deepEqual(await resolver.resolve('v4.test'), { host: '5.6.7.8', targets: [{ hostname: '5.6.7.8', port: 8448 }] });
    assert.deepEqual(await resolver.resolve('v4port.test'), { host: '5.6.7.8:9000', targets: [{ hostname: '5.6.7.8', port: 9000 }] });
    const v6 = await resolver.resolve('v6.test');
    assert.deepEqual(v6, { host: '[2001:db8::5]:9001', targets: [{ hostname: '2001:db8::5', port: 9001 }] });
    assert.equal(tlsName(v6), '2001:db8::5');
    assert.deepEqual(asked.srv, []);
  });

  it('3.2: well-known delegation to a hostname with a port: Host is delegated_hostname:port, no SRV', async () => {
    const { resolver, asked } = fakeResolver({ 'deleg.test': ok({ 'm.server': 'hs.deleg.test:4443' }) });
    const resolved = await resolver.resolve('deleg.test');
    assert.deepEqual(resolved, { host: 'hs.deleg.test:4443', targets: [{ hostname: 'hs.deleg.test', port: 4443 }] });
    assert.equal(tlsName(resolved), 'hs.deleg.test');
    assert.deepEqual(asked, { wellKnown: ['deleg.test'], srv: [] });
  });

  it('3.3 to 3.5: a delegated hostname without port: _matrix-fed SRV, then _matrix SRV, then port 8448', async () => {
    const { resolver, asked } = fakeResolver(
      { 'fed.test': ok({ 'm.server': 'hs.fed.test' }), 'legacy.test': ok({ 'm.server': 'hs.legacy.test' }), 'none.test': ok({ 'm.server': 'hs.none.test' }) },
      {
        '_matrix-fed._tcp.hs.fed.test': [srv('b.fed.test', 8002, 20), srv('a.fed.test', 8001, 10)],
        '_matrix._tcp.hs.fed.test': [srv('wrong.test', 1)],
        '_matrix._tcp.hs.legacy.test': [srv('old.legacy.test', 8443)],
        '_matrix-fed._tcp.none.test': [srv('wrong.test', 1)],
      },
    );
    const fed = await resolver.resolve('fed.test');
    assert.deepEqual(fed, { host: 'hs.fed.test', targets: [{ hostname: 'a.fed.test', port: 8001 }, { hostname: 'b.fed.test', port: 8002 }] });
    assert.equal(tlsName(fed), 'hs.fed.test', 'the certificate is for the delegated hostname, not the SRV target');
    assert.deepEqual(await resolver.resolve('legacy.test'), { host: 'hs.legacy.test', targets: [{ hostname: 'old.legacy.test', port: 8443 }] });
    assert.deepEqual(await resolver.resolve('none.test'), { host: 'hs.none.test', targets: [{ hostname: 'hs.none.test', port: 8448 }] });
    assert.deepEqual(asked.srv, [
      '_matrix-fed._tcp.hs.fed.test',
      '_matrix-fed._tcp.hs.legacy.test', '_matrix._tcp.hs.legacy.test',
      '_matrix-fed._tcp.hs.none.test', '_matrix._tcp.hs.none.test',
    ]);
  });

  it('4 to 6: no well-known: _matrix-fed SRV of the hostname, then _matrix SRV, then the hostname on 8448', async () => {
    const { resolver, asked } = fakeResolver(
      {},
      {
        '_matrix-fed._tcp.fed.test': [srv('matrix.fed.test', 443)],
        '_matrix._tcp.legacy.test': [srv('matrix.legacy.test', 8008)],
        '_matrix-fed._tcp.odd.test': Object.assign(new Error('no data'), { code: 'ENODATA' }),
        '_matrix._tcp.odd.test': Object.assign(new Error('server failure'), { code: 'ESERVFAIL' }),
      },
    );
    const fed = await resolver.resolve('fed.test');
    assert.deepEqual(fed, { host: 'fed.test', targets: [{ hostname: 'matrix.fed.test', port: 443 }] });
    assert.equal(tlsName(fed), 'fed.test');
    assert.deepEqual(await resolver.resolve('legacy.test'), { host: 'legacy.test', targets: [{ hostname: 'matrix.legacy.test', port: 8008 }] });
    assert.deepEqual(await resolver.resolve('plain.test'), { host: 'plain.test', targets: [{ hostname: 'plain.test', port: 8448 }] });
    assert.deepEqual(await resolver.resolve('odd.test'), { host: 'odd.test', targets: [{ hostname: 'odd.test', port: 8448 }] });
    assert.deepEqual(asked.wellKnown, ['fed.test', 'legacy.test', 'plain.test', 'odd.test']);
  });

  it('takes an invalid well-known answer as none: step 4', async () => {
    const answers: Record<string, WellKnownResponse | Error> = {
      'badjson.test': ok('{"m.server": '),
      'missing.test': ok({ server: 'x.test' }),
      'number.test': ok({ 'm.server': 8448 }),
      'grammar.test': ok({ 'm.server': 'bad_name.test' }),
      'array.test': ok([{ 'm.server': 'x.test' }]),
      'status.test': { status: 500, headers: {}, body: JSON.stringify({ 'm.server': 'x.test' }) },
      'redirect.test': { status: 302, headers: { location: 'https://x.test/' }, body: '' },
      'network.test': new Error('connect ECONNREFUSED'),
    };
    const { resolver } = fakeResolver(answers, { '_matrix-fed._tcp.missing.test': [srv('srv.missing.test', 9)] });
    for (const name of Object.keys(answers)) {
      const expected = name === 'missing.test' ? [{ hostname: 'srv.missing.test', port: 9 }] : [{ hostname: name, port: 8448 }];
      assert.deepEqual(await resolver.resolve(name), { host: name, targets: expected }, name);
    }
    // A body that is JSON whatever its Content-Type says.
    const typed = fakeResolver({ 'typed.test': ok({ 'm.server': 'hs.typed.test:1' }, { 'content-type': 'text/plain' }) });
    assert.equal((await typed.resolver.resolve('typed.test')).host, 'hs.typed.test:1');
  });

  it('uses the injected default port wherever the spec says 8448', async () => {
    const { resolver } = fakeResolver({ 'deleg.test': ok({ 'm.server': 'hs.deleg.test' }), 'ip.test': ok({ 'm.server': '5.6.7.8' }) }, {}, 9999);
    assert.deepEqual((await resolver.resolve('1.2.3.4')).targets, [{ hostname: '1.2.3.4', port: 9999 }]);
    assert.deepEqual((await resolver.resolve('deleg.test')).targets, [{ hostname: 'hs.deleg.test', port: 9999 }]);
    assert.deepEqual((await resolver.resolve('ip.test')).targets, [{ hostname: '5.6.7.8', port: 9999 }]);
    assert.deepEqual((await resolver.resolve('plain.test')).targets, [{ hostname: 'plain.test', port: 9999 }]);
  });

  it('refuses a name that is not a server name', async () => {
    const { resolver, asked } = fakeResolver();
    for (const bad of ['', 'a_b.test', 'x.test:99999', '[::1']) await assert.rejects(resolver.resolve(bad), InvalidServerNameError, bad);
    assert.deepEqual(asked, { wellKnown: [], srv: [] });
  });

  describe('well-known cache', () => {
    it('keeps an answer 24 hours without cache headers, and fetches once for concurrent resolves', async () => {
      const { resolver, asked, advance } = fakeResolver({ 'a.test': ok({ 'm.server': 'hs.a.test:1' }) });
      await Promise.all([resolver.resolve('a.test'), resolver.resolve('a.test'), resolver.resolve('a.test')]);
      assert.equal(asked.wellKnown.length, 1);
      advance(24 * HOUR - 1);
      await resolver.resolve('a.test');
      assert.equal(asked.wellKnown.length, 1);
      advance(2);
      await resolver.resolve('a.test');
      assert.equal(asked.wellKnown.length, 2);
    });

    it('follows Cache-Control within 5 minutes and 48 hours, and sees a changed answer when it expires', async () => {
      const { resolver, asked, wellKnown, advance } = fakeResolver({
        'a.test': ok({ 'm.server': 'one.test:1' }, { 'cache-control': 'max-age=600' }),
        'short.test': ok({ 'm.server': 'hs.short.test:1' }, { 'cache-control': 'max-age=1' }),
        'long.test': ok({ 'm.server': 'hs.long.test:1' }, { 'cache-control': 'max-age=31536000' }),
      });
      assert.equal((await resolver.resolve('a.test')).host, 'one.test:1');
      wellKnown['a.test'] = ok({ 'm.server': 'two.test:2' });
      await resolver.resolve('short.test');
      await resolver.resolve('long.test');
      const fetches = (name: string) => asked.wellKnown.filter((h) => h === name).length;
      advance(5 * MINUTE - 1);
      await resolver.resolve('short.test');
      assert.equal(fetches('short.test'), 1, 'max-age=1 lasts the 5-minute minimum');
      advance(1);
      await resolver.resolve('short.test');
      assert.equal(fetches('short.test'), 2);
      advance(5 * MINUTE - 1);
      assert.equal((await resolver.resolve('a.test')).host, 'one.test:1');
      advance(1);
      assert.equal((await resolver.resolve('a.test')).host, 'two.test:2');
      assert.equal(fetches('a.test'), 2);
      advance(48 * HOUR - 10 * MINUTE - 1);
      await resolver.resolve('long.test');
      assert.equal(fetches('long.test'), 1);
      advance(1);
      await resolver.resolve('long.test');
      assert.equal(fetches('long.test'), 2, 'a year is cut to 48 hours');
    });

    it('caches errors with exponential backoff up to an hour, and within an hour whatever the headers say', async () => {
      const { resolver, asked, wellKnown, advance } = fakeResolver({
        'down.test': new Error('ECONNREFUSED'),
        'gone.test': { status: 404, headers: { 'cache-control': 'max-age=86400' }, body: '' },
      });
      const fetches = (name: string) => asked.wellKnown.filter((h) => h === name).length;
      // Failures in a row: cached 5, 10, 20, 40, 60, 60 minutes.
      let expected = 0;
      for (const minutes of [5, 10, 20, 40, 60, 60]) {
        await resolver.resolve('down.test');
        assert.equal(fetches('down.test'), ++expected);
        advance(minutes * MINUTE - 1);
        await resolver.resolve('down.test');
        assert.equal(fetches('down.test'), expected, `still cached after ${minutes} minutes less 1 ms`);
        advance(1);
      }
      await resolver.resolve('gone.test');
      advance(HOUR);
      await resolver.resolve('gone.test');
      assert.equal(fetches('gone.test'), 2, 'a 404 with max-age of a day is kept an hour');
      // A success ends the backoff.
      wellKnown['down.test'] = ok({ 'm.server': 'hs.down.test:1' });
      assert.equal((await resolver.resolve('down.test')).host, 'hs.down.test:1');
      assert.equal(WELL_KNOWN_CACHE.errorMaxMs, HOUR);
    });

    it('keeps a delegation through a transient failure (network, 5xx), but not through a 404 or an invalid answer', async () => {
      const { resolver, wellKnown, advance } = fakeResolver({ 'a.test': ok({ 'm.server': 'hs.a.test:1' }), 'b.test': ok({ 'm.server': 'hs.b.test:1' }) });
      await resolver.resolve('a.test');
      await resolver.resolve('b.test');
      wellKnown['a.test'] = new Error('ETIMEDOUT');
      wellKnown['b.test'] = notFound;
      advance(24 * HOUR);
      assert.equal((await resolver.resolve('a.test')).host, 'hs.a.test:1');
      assert.equal((await resolver.resolve('b.test')).host, 'b.test');
      wellKnown['a.test'] = { status: 503, headers: {}, body: '' };
      advance(HOUR);
      assert.equal((await resolver.resolve('a.test')).host, 'hs.a.test:1');
      // ...for as long as the maximum cache time after the last success.
      advance(23 * HOUR);
      assert.equal((await resolver.resolve('a.test')).host, 'a.test');
    });
  });
});

describe('the well-known fetcher (https on loopback)', () => {
  let server: TlsTestServer;
  let agent: Agent;
  const names: Record<string, string> = { 'wk.test': '127.0.0.1', 'other.test': '127.0.0.1' };
  before(async () => {
    server = await startTlsServer();
    agent = new Agent({
      connect: guardedConnector({
        policy: new IpRangePolicy(['127.0.0.0/8'], ['127.0.0.1']),
        rejectUnauthorized: false,
        lookup: async (hostname) => (names[hostname] ? [{ address: names[hostname], family: 4 }] : Promise.reject(new Error(`ENOTFOUND ${hostname}`))),
      }),
    });
  });
  after(async () => {
    await agent.destroy();
    await server.stop();
  });
  const fetcher = () => wellKnownFetcher({ dispatcher: agent, timeoutMs: 2000, port: server.port });

  it('GETs /.well-known/matrix/server of the hostname, following redirects', async () => {
    server.handler = (req, res) => {
      if (req.url === '/.well-known/matrix/server') res.writeHead(301, { location: `https://other.test:${server.port}/moved` }).end();
      else json(res, 200, { 'm.server': 'hs.wk.test:443' }, { 'cache-control': 'max-age=60' });
    };
    server.requests.length = 0;
    const response = await fetcher()('wk.test');
    assert.deepEqual(JSON.parse(response.body), { 'm.server': 'hs.wk.test:443' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['cache-control'], 'max-age=60');
    assert.deepEqual(server.requests.map((r) => [r.headers.host, r.url, r.servername]), [
      [`wk.test:${server.port}`, '/.well-known/matrix/server', 'wk.test'],
      [`other.test:${server.port}`, '/moved', 'other.test'],
    ]);
  });

  it('stops at a redirect loop, a redirect away from https, and an oversized body', async () => {
    server.handler = (req, res) => res.writeHead(302, { location: req.url === '/.well-known/matrix/server' ? '/a' : '/.well-known/matrix/server' }).end();
    await assert.rejects(fetcher()('wk.test'), /too many redirects or a loop/);
    server.handler = (_req, res) => res.writeHead(302, { location: 'http://wk.test/plain' }).end();
    await assert.rejects(fetcher()('wk.test'), /not https/);
    server.handler = (_req, res) => res.writeHead(200).end('x'.repeat(100 * 1024));
    await assert.rejects(fetcher()('wk.test'), /exceeds/);
  });

  it('returns error statuses to the resolver, and fails on a name that does not resolve or is denied', async () => {
    server.handler = (_req, res) => json(res, 404, { errcode: 'M_NOT_FOUND' });
    assert.equal((await fetcher()('wk.test')).status, 404);
    await assert.rejects(fetcher()('nowhere.test'), /ENOTFOUND/);
    names['denied.test'] = '127.0.0.2';
    await assert.rejects(fetcher()('denied.test'), /ip_range_denylist/);
  });
});

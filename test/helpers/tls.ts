/** A plain node https server on 127.0.0.1 with the test certificate (test/fixtures/tls), recording what it receives. */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');
export const TLS_FIXTURE = { certificate_path: join(FIXTURES, 'localhost.crt'), key_path: join(FIXTURES, 'localhost.key') };

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The SNI the client sent; false when it sent none. */
  servername: string | false;
}

export type Handler = (req: ReceivedRequest, res: ServerResponse) => void;

export interface TlsTestServer {
  port: number;
  requests: ReceivedRequest[];
  /** TLS connections accepted. */
  connections: number;
  handler: Handler;
  stop(): Promise<void>;
}

export const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

export async function startTlsServer(handler: Handler = (_req, res) => json(res, 200, {})): Promise<TlsTestServer> {
  const state: TlsTestServer = {
    port: 0,
    requests: [],
    connections: 0,
    handler,
    stop: async () => {},
  };
  const server = https.createServer({ cert: readFileSync(TLS_FIXTURE.certificate_path), key: readFileSync(TLS_FIXTURE.key_path) }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const sni = (req.socket as TLSSocket).servername;
      const received = { method: req.method!, url: req.url!, headers: req.headers, body, servername: typeof sni === 'string' && sni !== '' ? sni : (false as const) };
      state.requests.push(received);
      state.handler(received, res);
    });
  });
  server.on('secureConnection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.stop = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return state;
}

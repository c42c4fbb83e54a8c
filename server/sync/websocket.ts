/**
 * Sync over a WebSocket (docs/sync.md): the responses GET /sync would give a
 * client that long-polls without pause, pushed as they happen.
 *
 *   GET /_matrix/client/unstable/org.weft/sync/ws?since=&filter=&set_presence=&use_state_after=
 *   (Upgrade: websocket; the access token in an Authorization header or ?access_token=)
 *
 * Server → client text frames: {"type":"sync","response":{...a /sync response...}}, and
 * {"type":"error","errcode":...,"error":...} before a close. Client → server:
 * {"type":"ack","next_batch":"s..."} says the responses up to that token arrived,
 * so the to-device messages they carried may be deleted (reconnecting with
 * ?since= says the same).
 *
 * Memory per connection is bounded: the next response is computed only after
 * the previous one has left for the socket. A reader that falls behind for
 * longer than `slowReaderMs` is disconnected and resumes from the last
 * next_batch it received: nothing is lost, because a sync token is a
 * position, not a queue. The server pings every heartbeat; a client that
 * does not answer by the next one, or whose access token stops working, is
 * disconnected.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { MatrixError } from '../../spec/errors';
import type { InFlight } from '../http/in-flight';
import type { Logger } from '../log';
import type { Requester } from '../http/route';
import type { Services } from '../services';
import type { PresenceSetting } from './stream';
import { parseSyncToken, type Positions } from './token';

export const SYNC_WS_PATH = '/_matrix/client/unstable/org.weft/sync/ws';

export interface WebSocketOptions {
  heartbeatMs?: number;
  slowReaderMs?: number;
  /** How long one sync waits for news before it starts over (a keepalive, not visible to the client). */
  pollMs?: number;
  /** Counts each connection's work, so that a stopping server waits for it. */
  inFlight?: InFlight;
}

const PRESENCE: ReadonlySet<string> = new Set(['online', 'offline', 'unavailable']);
const CLOSE_AUTH = 4001;
const CLOSE_BAD_REQUEST = 4000;
const CLOSE_ERROR = 1011;

/** Serves WebSocket sync on `server` (a listener with the client API). */
export function serveSyncWebSocket(server: Server, services: Services, log: Logger, options: WebSocketOptions = {}): { close(): void } {
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const slowReaderMs = options.slowReaderMs ?? 60_000;
  const pollMs = options.pollMs ?? 30_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const track = (work: () => Promise<void>) => void (options.inFlight ? options.inFlight.run(work) : work());

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== SYNC_WS_PATH) {
      refuse(socket, 404, new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request'));
      return;
    }
    track(() => accept(req, url, socket, head));
  };

  const accept = async (req: IncomingMessage, url: URL, socket: Duplex, head: Buffer) => {
    let session: { requester: Requester; token: string; since?: Positions; filterParam?: string; setPresence?: PresenceSetting; useStateAfter: boolean };
    try {
      const token = bearer(req.headers.authorization) ?? url.searchParams.get('access_token') ?? undefined;
      if (token === undefined) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
      const requester = await services.sessions.authenticate(token, clientOf(req));
      const since = url.searchParams.get('since');
      const setPresence = url.searchParams.get('set_presence') ?? undefined;
      if (setPresence !== undefined && !PRESENCE.has(setPresence)) throw new MatrixError(400, 'M_INVALID_PARAM', "'set_presence' must be 'online', 'offline' or 'unavailable'");
      session = {
        requester,
        token,
        since: since ? parseSyncToken(since) : undefined,
        filterParam: url.searchParams.get('filter') ?? undefined,
        setPresence: setPresence as PresenceSetting | undefined,
        useStateAfter: url.searchParams.get('use_state_after') === 'true',
      };
      await services.filters.resolve(requester.userId, session.filterParam);
    } catch (err) {
      refuse(socket, err instanceof MatrixError ? err.status : 500, err instanceof MatrixError ? err : new MatrixError(500, 'M_UNKNOWN', 'Internal error'));
      if (!(err instanceof MatrixError)) log.error({ err }, 'websocket sync upgrade failed');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => track(() => run(ws, req, session)));
  };

  const run = async (
    ws: WebSocket,
    req: IncomingMessage,
    session: { requester: Requester; token: string; since?: Positions; filterParam?: string; setPresence?: PresenceSetting; useStateAfter: boolean },
  ) => {
    const { requester } = session;
    const gone = new AbortController();
    let alive = true;
    const close = (code: number, reason: string, error?: MatrixError) => {
      if (error && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'error', ...error.toJSON() }));
      ws.close(code, reason);
      gone.abort();
    };
    ws.on('close', () => gone.abort());
    ws.on('pong', () => (alive = true));
    ws.on('message', (data: RawData) => void onMessage(data));
    const heartbeat = setInterval(() => void beat(), heartbeatMs);
    heartbeat.unref();
    gone.signal.addEventListener('abort', () => clearInterval(heartbeat));

    // Presence: the user is syncing for as long as the socket is open; each heartbeat renews it.
    let endActivity = () => {};
    gone.signal.addEventListener('abort', () => endActivity());
    const holdActivity = async () => {
      const held = await services.sync.holdActivity(requester, session.setPresence);
      endActivity();
      if (gone.signal.aborted) held();
      else endActivity = held;
    };

    const beat = async () => {
      if (!alive) return void ws.terminate();
      alive = false;
      ws.ping();
      await holdActivity();
      try {
        await services.sessions.authenticate(session.token, clientOf(req));
      } catch (err) {
        if (err instanceof MatrixError) close(CLOSE_AUTH, 'access token no longer valid', err);
      }
    };

    const onMessage = async (data: RawData) => {
      let message: { type?: unknown; next_batch?: unknown };
      try {
        message = JSON.parse(data.toString());
      } catch {
        return close(CLOSE_BAD_REQUEST, 'not JSON', new MatrixError(400, 'M_NOT_JSON', 'Frames must be JSON'));
      }
      if (message.type !== 'ack' || typeof message.next_batch !== 'string') {
        return close(CLOSE_BAD_REQUEST, 'unknown frame', new MatrixError(400, 'M_UNRECOGNIZED', 'Unknown frame'));
      }
      try {
        await services.sync.acknowledge(requester, parseSyncToken(message.next_batch));
      } catch (err) {
        if (err instanceof MatrixError) close(CLOSE_BAD_REQUEST, 'bad ack', err);
        else log.error({ err }, 'websocket sync ack failed');
      }
    };

    try {
      await holdActivity();
      const filter = await services.filters.resolve(requester.userId, session.filterParam);
      let since = session.since;
      while (!gone.signal.aborted) {
        const { response, next, news } = await services.sync.sync({
          requester,
          filter,
          since,
          fullState: false,
          useStateAfter: session.useStateAfter,
          timeoutMs: since === undefined ? 0 : pollMs,
          setPresence: session.setPresence,
          signal: gone.signal,
          sinceIsAcknowledged: since === session.since,
          activityHeld: true,
        });
        if (gone.signal.aborted) break;
        since = next;
        if (news && !(await sent(ws, JSON.stringify({ type: 'sync', response }), slowReaderMs))) {
          // A close frame would queue behind the data the reader is not taking: drop the connection.
          ws.terminate();
          gone.abort();
        }
      }
    } catch (err) {
      if (!gone.signal.aborted) {
        const error = err instanceof MatrixError ? err : new MatrixError(500, 'M_UNKNOWN', 'Internal error');
        if (!(err instanceof MatrixError)) log.error({ err }, 'websocket sync failed');
        close(err instanceof MatrixError && err.status === 401 ? CLOSE_AUTH : CLOSE_ERROR, 'sync failed', error);
      }
    }
  };

  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** Resolves true once `data` has been handed to the socket, false if that takes longer than `limitMs` or fails. */
function sent(ws: WebSocket, data: string, limitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), limitMs);
    ws.send(data, (err) => {
      clearTimeout(timer);
      resolve(!err);
    });
  });
}

function bearer(header: string | undefined): string | undefined {
  const match = header && /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}

function clientOf(req: IncomingMessage): { ip: string; userAgent?: string } {
  return { ip: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''), userAgent: req.headers['user-agent'] };
}

/** Answers an upgrade request with a Matrix error instead of switching protocols. */
function refuse(socket: Duplex, status: number, error: MatrixError): void {
  const body = JSON.stringify(error.toJSON());
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

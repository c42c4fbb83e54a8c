/** Helpers for the timeline, context, relations and timestamp tests. */
import assert from 'node:assert/strict';
import { enc, roomPath } from './rooms';
import type { Response, TestServer, TestUser } from './server';

const V3 = '/_matrix/client/v3';
const V1 = '/_matrix/client/v1';

export type Query = Record<string, string | number | boolean | object | undefined>;

export function queryString(query: Query): string {
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${enc(typeof v === 'object' ? JSON.stringify(v) : String(v))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

export function getMessages(server: TestServer, user: TestUser, roomId: string, query: Query): Promise<Response> {
  return server.request('GET', roomPath(roomId, `/messages${queryString(query)}`), { token: user.accessToken });
}

/** GET /messages that must succeed. */
export async function messages(server: TestServer, user: TestUser, roomId: string, query: Query): Promise<any> {
  const res = await getMessages(server, user, roomId, query);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Every event /messages gives, following `end` until it is absent; also the number of requests made. */
export async function pageAll(server: TestServer, user: TestUser, roomId: string, query: Query): Promise<{ events: any[]; pages: number }> {
  const events: any[] = [];
  let from = query.from;
  for (let pages = 1; pages < 1000; pages++) {
    const page = await messages(server, user, roomId, { ...query, from });
    if (from !== undefined) assert.equal(page.start, from);
    events.push(...page.chunk);
    if (page.end === undefined) return { events, pages };
    from = page.end;
  }
  throw new Error('paging did not end');
}

export function context(server: TestServer, user: TestUser, roomId: string, eventId: string, query: Query = {}): Promise<Response> {
  return server.request('GET', roomPath(roomId, `/context/${enc(eventId)}${queryString(query)}`), { token: user.accessToken });
}

export function relations(server: TestServer, user: TestUser, roomId: string, path: string, query: Query = {}): Promise<Response> {
  return server.request('GET', `${V1}/rooms/${enc(roomId)}/relations/${path}${queryString(query)}`, { token: user.accessToken });
}

export function threads(server: TestServer, user: TestUser, roomId: string, query: Query = {}): Promise<Response> {
  return server.request('GET', `${V1}/rooms/${enc(roomId)}/threads${queryString(query)}`, { token: user.accessToken });
}

export function timestampToEvent(server: TestServer, user: TestUser, roomId: string, query: Query): Promise<Response> {
  return server.request('GET', `${V1}/rooms/${enc(roomId)}/timestamp_to_event${queryString(query)}`, { token: user.accessToken });
}

async function ok(res: Promise<Response>): Promise<any> {
  const r = await res;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

export async function setState(server: TestServer, user: TestUser, roomId: string, type: string, content: object, stateKey = ''): Promise<string> {
  return (await ok(server.request('PUT', roomPath(roomId, `/state/${enc(type)}/${enc(stateKey)}`), { token: user.accessToken, body: content }))).event_id;
}

export async function leave(server: TestServer, user: TestUser, roomId: string): Promise<void> {
  await ok(server.request('POST', roomPath(roomId, '/leave'), { token: user.accessToken, body: {} }));
}

export async function invite(server: TestServer, user: TestUser, roomId: string, target: TestUser): Promise<void> {
  await ok(server.request('POST', roomPath(roomId, '/invite'), { token: user.accessToken, body: { user_id: target.userId } }));
}

let redactions = 0;
export async function redact(server: TestServer, user: TestUser, roomId: string, eventId: string): Promise<string> {
  return (await ok(server.request('PUT', roomPath(roomId, `/redact/${enc(eventId)}/red${++redactions}`), { token: user.accessToken, body: {} }))).event_id;
}

export async function ignore(server: TestServer, user: TestUser, ignored: TestUser[]): Promise<void> {
  const body = { ignored_users: Object.fromEntries(ignored.map((u) => [u.userId, {}])) };
  await ok(server.request('PUT', `${V3}/user/${enc(user.userId)}/account_data/m.ignored_user_list`, { token: user.accessToken, body }));
}

export const bodies = (events: any[]): string[] => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
export const ids = (events: any[]): string[] => events.map((e) => e.event_id);

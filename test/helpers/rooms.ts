/** Room helpers for HTTP tests: create a room, send, join, read. */
import assert from 'node:assert/strict';
import type { TestServer, TestUser } from './server';

const V3 = '/_matrix/client/v3';
let txn = 0;

export const enc = encodeURIComponent;

export async function createRoom(server: TestServer, user: TestUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await server.request('POST', `${V3}/createRoom`, { token: user.accessToken, body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

export async function send(server: TestServer, user: TestUser, roomId: string, content: Record<string, unknown>, type = 'm.room.message'): Promise<string> {
  const res = await server.request('PUT', `${V3}/rooms/${enc(roomId)}/send/${enc(type)}/t${++txn}`, { token: user.accessToken, body: content });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
}

export async function join(server: TestServer, user: TestUser, roomId: string): Promise<void> {
  const res = await server.request('POST', `${V3}/rooms/${enc(roomId)}/join`, { token: user.accessToken, body: {} });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export function roomPath(roomId: string, rest = ''): string {
  return `${V3}/rooms/${enc(roomId)}${rest}`;
}

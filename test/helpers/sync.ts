/** Helpers for /sync tests: a request that must succeed, and readers for the parts of a response. */
import assert from 'node:assert/strict';
import type { Response, TestServer, TestUser } from './server';
import { queryString, type Query } from './timeline';

export const SYNC = '/_matrix/client/v3/sync';

export function getSync(server: TestServer, user: TestUser, query: Query = {}): Promise<Response> {
  return server.request('GET', `${SYNC}${queryString(query)}`, { token: user.accessToken });
}

/** GET /sync that must succeed. */
export async function sync(server: TestServer, user: TestUser, query: Query = {}): Promise<any> {
  const res = await getSync(server, user, query);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

export const joinedRoom = (body: any, roomId: string): any => body.rooms?.join?.[roomId];
export const timelineOf = (body: any, roomId: string): any[] => joinedRoom(body, roomId)?.timeline?.events ?? [];
export const stateOf = (body: any, roomId: string): any[] => joinedRoom(body, roomId)?.state?.events ?? [];
export const messageBodies = (events: any[]): string[] => events.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);

/** Resolves with the promise's value, or with 'pending' if it has not settled within `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

/**
 * The room's timeline events a user's long-polling /sync receives from `since`
 * within `ms`: what a client waiting on /sync would have shown by then.
 */
export async function timelineWithin(server: TestServer, user: TestUser, since: string, roomId: string, ms: number): Promise<any[]> {
  const deadline = Date.now() + ms;
  const events: any[] = [];
  for (let left = ms; left > 0; left = deadline - Date.now()) {
    const body = await sync(server, user, { since, timeout: left });
    events.push(...timelineOf(body, roomId));
    if (events.length > 0) return events;
    since = body.next_batch;
  }
  return events;
}

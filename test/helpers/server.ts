/**
 * Starts real homeservers for tests: a free port on 127.0.0.1 and a fresh
 * database each, SQLite by default or a new PostgreSQL schema when
 * WEFT_TEST_POSTGRES_URL is set (as .ci/run does).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import pino from 'pino';
import { buildConfig } from '../../server/config/load';
import type { Config } from '../../server/config/schema';
import { generateSigningKey } from '../../server/config/signing-key';
import { createHomeserver, type BoundListener, type Homeserver } from '../../server/homeserver';

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test server. */
export function freshDatabase(): TestDatabase {
  const pgUrl = process.env.WEFT_TEST_POSTGRES_URL;
  if (pgUrl) {
    const schema = `weft_test_${randomBytes(6).toString('hex')}`;
    const separator = pgUrl.includes('?') ? '&' : '?';
    return {
      url: `${pgUrl}${separator}schema=${schema}`,
      async drop() {
        const admin = knex({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
        try {
          await admin.raw(`drop schema if exists ${schema} cascade`);
        } finally {
          await admin.destroy();
        }
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'weft-test-'));
  return { url: `sqlite:${join(dir, 'weft.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

function merge(base: any, over: any): any {
  if (over === undefined) return base;
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) {
    return over;
  }
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** A test configuration: open registration, rate limits off, a cheap password hash, loopback allowed for outbound requests. */
export function testConfig(databaseUrl: string, overrides: DeepPartial<Config> = {}): Config {
  const base = {
    server_name: 'localhost',
    signing_key: generateSigningKey(),
    listeners: [{ bind_address: '127.0.0.1', port: 0, resources: ['client', 'federation'] }],
    database: { url: databaseUrl },
    log_level: 'silent',
    registration: { mode: 'open', shared_secret: 'test-shared-secret' },
    auth: { password_hash_cost: 10 },
    rate_limits: { enabled: false },
    ip_range_allowlist: ['127.0.0.0/8', '::1/128'],
  };
  return buildConfig(merge(base, overrides));
}

export interface Response {
  status: number;
  headers: Headers;
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as-is, for malformed-body tests. */
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  hs: Homeserver;
  /** The first listener's URL. */
  baseUrl: string;
  listeners: BoundListener[];
  config: Config;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** Stops the server; keeps the database unless `drop` is true. */
  stop(options?: { drop?: boolean }): Promise<void>;
}

export async function startServer(overrides: DeepPartial<Config> = {}, database: TestDatabase = freshDatabase()): Promise<TestServer> {
  const config = testConfig(database.url, overrides);
  const hs = await createHomeserver(config, { log: pino({ level: 'silent' }) });
  const listeners = await hs.listen();
  const baseUrl = listeners[0].url;
  return {
    hs,
    baseUrl,
    listeners,
    config,
    request: (method, path, options) => request(baseUrl, method, path, options),
    async stop({ drop = true } = {}) {
      await hs.stop();
      if (drop) await database.drop();
    },
  };
}

export async function request(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['Content-Type'] ??= 'application/json';
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: leave the text for the assertion to show.
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export interface TestUser {
  userId: string;
  deviceId: string;
  accessToken: string;
  password: string;
}

/** Creates a user and a logged-in device directly through the services (test setup, not under test). */
export async function createUser(server: TestServer, localpart: string, options: { password?: string; admin?: boolean } = {}): Promise<TestUser> {
  const password = options.password ?? `pw-${localpart}`;
  const userId = await server.hs.services.accounts.create({ localpart, password, admin: options.admin });
  const session = await server.hs.services.accounts.startSession(userId, {});
  return { userId, deviceId: session.device_id, accessToken: session.access_token, password };
}

/** Asserts a Matrix error response. */
export function expectError(res: Response, status: number, errcode: string): void {
  if (res.status !== status || res.body?.errcode !== errcode) {
    throw new Error(`expected ${status} ${errcode}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/**
 * POST /keys/query and /keys/claim for other servers' users (the client API's
 * end_to_end_encryption module; server-server user_keys.yaml, user_devices.yaml).
 *
 * Query: a user whose device list we keep (they share a room with one of
 * ours) is answered from the cache, fetched first with GET /user/devices if it
 * is missing or stale; anyone else's server is asked with POST
 * /user/keys/query, once per server. Claim: POST /user/keys/claim, once per
 * server. Servers are asked in parallel, each within the client's timeout; one
 * that cannot be reached is reported in `failures` under its name (a stale
 * cache is then served as it is).
 */
import type { JsonObject } from '../../spec/e2e-keys';
import { parseUserId } from '../../spec/identifiers';
import type { ClaimKeysResponse, QueryKeysResponse, RemoteKeySource } from '../../server/e2ee/keys';
import type { Stores } from '../../storage';
import { FederationError, type FederationClient } from '../client';
import type { RemoteDeviceLists } from './device-lists';

type QueryAnswer = Omit<QueryKeysResponse, 'user_signing_keys'>;

const V1 = '/_matrix/federation/v1';

export class RemoteKeys implements RemoteKeySource {
  constructor(
    private readonly stores: Stores,
    private readonly client: FederationClient,
    private readonly deviceLists: RemoteDeviceLists,
  ) {}

  async query(users: Record<string, string[]>, timeoutMs: number): Promise<QueryAnswer> {
    const out: QueryAnswer = { device_keys: {}, master_keys: {}, self_signing_keys: {}, failures: {} };
    const userIds = Object.keys(users);
    const [lists, tracked] = await Promise.all([
      this.stores.remoteDevices.lists(userIds),
      Promise.all(userIds.map((userId) => this.deviceLists.tracked(userId))),
    ]);
    const cached: string[] = [];
    /** Per server: the tracked users whose list must be fetched, and the others' query. */
    const byServer = new Map<string, { fetch: string[]; ask: Record<string, string[]> }>();
    userIds.forEach((userId, i) => {
      const list = lists.get(userId);
      if (tracked[i] && list && !list.stale) return cached.push(userId);
      const server = parseUserId(userId)!.serverName;
      if (!byServer.has(server)) byServer.set(server, { fetch: [], ask: {} });
      if (tracked[i]) byServer.get(server)!.fetch.push(userId);
      else byServer.get(server)!.ask[userId] = users[userId];
    });

    await Promise.all(
      [...byServer].map(async ([server, { fetch, ask }]) => {
        const fetches = fetch.map(async (userId) => {
          try {
            await withTimeout(this.deviceLists.resync(userId, timeoutMs), timeoutMs);
            cached.push(userId);
          } catch (err) {
            out.failures[server] = failureOf(err);
            if (lists.has(userId)) cached.push(userId);
          }
        });
        const asking = async () => {
          if (Object.keys(ask).length === 0) return;
          try {
            const answer = await withTimeout(this.client.post(server, `${V1}/user/keys/query`, { device_keys: ask }, { timeoutMs }), timeoutMs);
            mergeQueryAnswer(out, answer, ask);
          } catch (err) {
            out.failures[server] = failureOf(err);
          }
        };
        await Promise.all([...fetches, asking()]);
      }),
    );

    const [devices, crossSigning] = await Promise.all([this.stores.remoteDevices.devices(cached), this.stores.remoteDevices.crossSigning(cached)]);
    for (const userId of cached) out.device_keys[userId] = {};
    for (const device of devices) {
      const wanted = users[device.userId];
      if (device.keys === null || (wanted.length > 0 && !wanted.includes(device.deviceId))) continue;
      const unsigned = device.displayName === null ? {} : { device_display_name: device.displayName };
      out.device_keys[device.userId][device.deviceId] = { ...device.keys, unsigned };
    }
    for (const [userId, keys] of crossSigning) {
      if (keys.master) out.master_keys[userId] = keys.master;
      if (keys.self_signing) out.self_signing_keys[userId] = keys.self_signing;
    }
    return out;
  }

  async claim(keys: Record<string, Record<string, string>>, timeoutMs: number): Promise<ClaimKeysResponse> {
    const out: ClaimKeysResponse = { one_time_keys: {}, failures: {} };
    const byServer = new Map<string, Record<string, Record<string, string>>>();
    for (const [userId, devices] of Object.entries(keys)) {
      const server = parseUserId(userId)!.serverName;
      if (!byServer.has(server)) byServer.set(server, {});
      byServer.get(server)![userId] = devices;
    }
    await Promise.all(
      [...byServer].map(async ([server, wanted]) => {
        try {
          const request = this.client.post<{ one_time_keys?: unknown }>(server, `${V1}/user/keys/claim`, { one_time_keys: wanted }, { timeoutMs });
          const answer = await withTimeout(request, timeoutMs);
          const claimed = isObject(answer?.one_time_keys) ? answer.one_time_keys : {};
          for (const [userId, devices] of Object.entries(claimed)) {
            if (!Object.hasOwn(wanted, userId) || !isObject(devices)) continue;
            for (const [deviceId, key] of Object.entries(devices)) {
              if (Object.hasOwn(wanted[userId], deviceId) && isObject(key)) (out.one_time_keys[userId] ??= {})[deviceId] = key;
            }
          }
        } catch (err) {
          out.failures[server] = failureOf(err);
        }
      }),
    );
    return out;
  }
}

/** Takes from another server's /user/keys/query answer what was asked of it, each key being the user's own. */
function mergeQueryAnswer(out: QueryAnswer, answer: unknown, asked: Record<string, string[]>): void {
  if (!isObject(answer)) return;
  const section = (name: string) => (isObject(answer[name]) ? (answer[name] as Record<string, unknown>) : {});
  for (const [userId, devices] of Object.entries(section('device_keys'))) {
    if (!Object.hasOwn(asked, userId) || !isObject(devices)) continue;
    const wanted = asked[userId];
    out.device_keys[userId] = {};
    for (const [deviceId, keys] of Object.entries(devices)) {
      if (!isObject(keys) || keys.user_id !== userId || keys.device_id !== deviceId) continue;
      if (wanted.length === 0 || wanted.includes(deviceId)) out.device_keys[userId][deviceId] = keys;
    }
  }
  for (const [name, usage] of [['master_keys', 'master'], ['self_signing_keys', 'self_signing']] as const) {
    for (const [userId, key] of Object.entries(section(name))) {
      if (Object.hasOwn(asked, userId) && isObject(key) && key.user_id === userId && Array.isArray(key.usage) && key.usage.includes(usage)) {
        out[name][userId] = key;
      }
    }
  }
}

/** A server in `failures`: the status it answered with, or 503 when it could not be reached. */
function failureOf(err: unknown): { status: number; message: string } {
  const status = err instanceof FederationError && err.kind === 'http' && err.status !== undefined ? err.status : 503;
  return { status, message: err instanceof Error ? err.message : String(err) };
}

/**
 * `work`, or a rejection once `ms` have passed: the client's timeout, whatever
 * the request waits for (the federation client's own timeout does not cut a
 * connection attempt short).
 */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Key distribution (end_to_end_encryption.md, "Key Distribution"): devices
 * upload their identity, one-time and fallback keys; other users query
 * identity and cross-signing keys and claim one-time keys. Other servers'
 * users' keys come from the RemoteKeySource federation sets (setRemote); without
 * one, their servers are reported in `failures`.
 */
import { invalidParam, MatrixError } from '../../spec/errors';
import { keyJson, sameSignedContent, splitKeyId, withSignatures, type JsonObject } from '../../spec/e2e-keys';
import { parseUserId } from '../../spec/identifiers';
import type { ClaimKeysBody, DeviceKeys, OneTimeKey, QueryKeysBody, UploadKeysBody } from '../../spec/schemas/keys';
import { verifyJsonSignature } from '../../spec/signing';
import type { Stores } from '../../storage';
import type { ClaimedKey, NewKey } from '../../storage/one-time-keys';
import { whenSettled } from '../../storage/transactions';
import { InvalidatedCache } from '../../storage/invalidated-cache';
import type { DeviceLists } from './device-lists';

export interface KeyRequester {
  userId: string;
  deviceId: string;
}

/** The algorithm clients count on the server reporting, zero included (as Synapse does). */
const SIGNED_CURVE25519 = 'signed_curve25519';

/** `failures` for a server this one cannot ask (yet). */
const unreachable = () => ({ status: 503, message: 'Federation is not available' });

/** How long to wait for other servers when the client does not say (the spec's recommendation), and at most. */
export const DEFAULT_REMOTE_KEYS_TIMEOUT_MS = 10_000;
const MAX_REMOTE_KEYS_TIMEOUT_MS = 60_000;

export interface QueryKeysResponse {
  device_keys: Record<string, Record<string, JsonObject>>;
  master_keys: Record<string, JsonObject>;
  self_signing_keys: Record<string, JsonObject>;
  user_signing_keys: Record<string, JsonObject>;
  failures: Record<string, unknown>;
}

export interface ClaimKeysResponse {
  one_time_keys: Record<string, Record<string, Record<string, unknown>>>;
  failures: Record<string, unknown>;
}

/**
 * Other servers' users' keys (federation). Each takes only users of other
 * servers; `failures` is keyed by server name.
 */
export interface RemoteKeySource {
  /** Identity and cross-signing keys: user ID → device IDs (empty: every device). */
  query(users: Record<string, string[]>, timeoutMs: number): Promise<Omit<QueryKeysResponse, 'user_signing_keys'>>;
  /** One-time keys: user ID → device ID → algorithm. */
  claim(keys: Record<string, Record<string, string>>, timeoutMs: number): Promise<ClaimKeysResponse>;
}

export class E2eKeys {
  /** Every /sync reports the device's key counts; they change only through this class (and device deletion). */
  private readonly statuses = new InvalidatedCache<KeyStatus>(50_000);
  private remote?: RemoteKeySource;

  constructor(
    private readonly stores: Stores,
    private readonly deviceLists: DeviceLists,
    private readonly serverName: string,
  ) {}

  /**
   * POST /keys/upload: all or nothing, in one transaction. New or changed
   * identity keys are a device list change.
   */
  async upload(requester: KeyRequester, body: UploadKeysBody): Promise<{ one_time_key_counts: Record<string, number> }> {
    const { userId, deviceId } = requester;
    const deviceKeys = body.device_keys && checkDeviceKeys(requester, body.device_keys);
    const oneTimeKeys = newKeys(body.one_time_keys ?? {}, 'one_time_keys');
    const fallbackKeys = newKeys(body.fallback_keys ?? {}, 'fallback_keys');
    const fallbackAlgorithms = new Set(fallbackKeys.map((k) => k.algorithm));
    if (fallbackAlgorithms.size < fallbackKeys.length) throw invalidParam('At most one fallback key per algorithm may be uploaded');

    return this.stores.db.transaction(async (trx) => {
      whenSettled(trx, () => this.forgetStatus(userId, deviceId), () => this.forgetStatus(userId, deviceId));
      if (deviceKeys && (await this.stores.deviceKeys.put(userId, deviceId, deviceKeys, trx))) {
        await this.deviceLists.changed(userId, trx, { devices: [deviceId] });
      }
      const existing = await this.stores.oneTimeKeys.existing(userId, deviceId, oneTimeKeys, trx);
      for (const key of oneTimeKeys) {
        const stored = existing.get(`${key.algorithm}:${key.keyId}`);
        if (stored !== undefined && !sameOneTimeKey(stored, key.json)) {
          throw invalidParam(`One-time key ${key.algorithm}:${key.keyId} already exists with different content`);
        }
      }
      await this.stores.oneTimeKeys.add(userId, deviceId, oneTimeKeys.filter((k) => !existing.has(`${k.algorithm}:${k.keyId}`)), trx);
      for (const key of fallbackKeys) await this.stores.oneTimeKeys.setFallback(userId, deviceId, key, trx);
      return { one_time_key_counts: withDefaultCount(await this.stores.oneTimeKeys.counts(userId, deviceId, trx)) };
    });
  }

  /** Sets where other servers' users' keys come from (federation). */
  setRemote(remote: RemoteKeySource): void {
    this.remote = remote;
  }

  /** The device's one-time key counts and unused fallback key algorithms, for every /sync. */
  status(userId: string, deviceId: string): Promise<KeyStatus> {
    return this.statuses.get(statusKey(userId, deviceId), async () => {
      const [counts, unusedFallback] = await Promise.all([
        this.stores.oneTimeKeys.counts(userId, deviceId),
        this.stores.oneTimeKeys.unusedFallbackAlgorithms(userId, deviceId),
      ]);
      return { counts: withDefaultCount(counts), unusedFallback };
    });
  }

  /** Forgets the key statuses of a user's devices (they uploaded, were claimed from, or were deleted). */
  forgetStatus(userId: string, deviceId?: string): void {
    const key = deviceId === undefined ? undefined : statusKey(userId, deviceId);
    this.statuses.invalidate((k) => (key === undefined ? k.startsWith(`${userId}|`) : k === key));
  }

  /**
   * POST /keys/query, by a user, or (`requester` null) by another server
   * (/user/keys/query), which sees only the signatures users made of their own
   * keys and no user-signing keys.
   */
  async query(requester: KeyRequester | null, body: QueryKeysBody): Promise<QueryKeysResponse> {
    const response: QueryKeysResponse = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures: {} };
    const wanted = new Map<string, Set<string> | 'all'>();
    const remoteUsers: Record<string, string[]> = {};
    for (const [userId, deviceIds] of Object.entries(body.device_keys)) {
      const server = this.serverOf(userId);
      if (server !== this.serverName) {
        if (this.remote) remoteUsers[userId] = deviceIds;
        else response.failures[server] = unreachable();
        continue;
      }
      response.device_keys[userId] = {};
      wanted.set(userId, deviceIds.length === 0 ? 'all' : new Set(deviceIds));
    }
    const users = [...wanted.keys()];
    const [devices, crossSigning, masterSignatures, remote] = await Promise.all([
      this.stores.deviceKeys.forUsers(users),
      this.stores.crossSigning.keysOf(users),
      this.stores.crossSigning.masterKeySignatures(users, requester?.userId ?? null),
      Object.keys(remoteUsers).length > 0 ? this.remote!.query(remoteUsers, remoteTimeout(body.timeout)) : undefined,
    ]);
    if (remote) {
      Object.assign(response.device_keys, remote.device_keys);
      Object.assign(response.master_keys, remote.master_keys);
      Object.assign(response.self_signing_keys, remote.self_signing_keys);
      Object.assign(response.failures, remote.failures);
    }
    for (const device of devices) {
      const devicesWanted = wanted.get(device.userId);
      if (devicesWanted !== 'all' && !devicesWanted?.has(device.deviceId)) continue;
      const unsigned = device.displayName === null ? {} : { device_display_name: device.displayName };
      response.device_keys[device.userId][device.deviceId] = { ...device.keys, unsigned };
    }
    for (const [userId, keys] of crossSigning) {
      if (keys.master) {
        const extra = masterSignatures.filter((s) => s.userId === userId && s.publicKey === keys.master!.publicKey);
        response.master_keys[userId] = withSignatures(keys.master.key, extra);
      }
      if (keys.self_signing) response.self_signing_keys[userId] = keys.self_signing.key;
      if (keys.user_signing && userId === requester?.userId) response.user_signing_keys[userId] = keys.user_signing.key;
    }
    return response;
  }

  /**
   * POST /keys/claim: each device's oldest one-time key of the algorithm asked
   * for, else its fallback key. Every claim is exclusive (storage/one-time-keys.ts).
   */
  async claim(body: ClaimKeysBody): Promise<ClaimKeysResponse> {
    const oneTimeKeys: Record<string, Record<string, Record<string, unknown>>> = {};
    const failures: Record<string, unknown> = {};
    const remoteKeys: Record<string, Record<string, string>> = {};
    for (const userId of Object.keys(body.one_time_keys)) {
      const server = this.serverOf(userId);
      if (server === this.serverName) continue;
      if (this.remote) remoteKeys[userId] = body.one_time_keys[userId];
      else failures[server] = unreachable();
    }
    // Other servers are asked while the local keys are claimed.
    const remote = Object.keys(remoteKeys).length > 0 ? this.remote!.claim(remoteKeys, remoteTimeout(body.timeout)) : undefined;
    for (const [userId, devices] of Object.entries(body.one_time_keys)) {
      if (this.serverOf(userId) !== this.serverName) continue;
      for (const [deviceId, algorithm] of Object.entries(devices)) {
        const key: ClaimedKey | undefined =
          (await this.stores.oneTimeKeys.claim(userId, deviceId, algorithm)) ??
          (await this.stores.oneTimeKeys.claimFallback(userId, deviceId, algorithm));
        this.forgetStatus(userId, deviceId);
        if (key) ((oneTimeKeys[userId] ??= {})[deviceId] = { [key.id]: key.key });
      }
    }
    if (remote) {
      const answer = await remote;
      Object.assign(oneTimeKeys, answer.one_time_keys);
      Object.assign(failures, answer.failures);
    }
    return { one_time_keys: oneTimeKeys, failures };
  }

  /** The server name of a user ID; 400 M_INVALID_PARAM for something that is not one. */
  private serverOf(userId: string): string {
    const parsed = parseUserId(userId);
    if (!parsed) throw invalidParam(`'${userId.slice(0, 255)}' is not a valid user ID`);
    return parsed.serverName;
  }
}

/**
 * Device keys must be the requester's own, name the device's ed25519 key, and
 * be signed by it (end_to_end_encryption.md, "Uploading keys"). Returns what is
 * stored: the keys without `unsigned`.
 */
function checkDeviceKeys(requester: KeyRequester, keys: DeviceKeys): JsonObject {
  if (keys.user_id !== requester.userId || keys.device_id !== requester.deviceId) {
    throw invalidParam("'device_keys' must be for the requester's own user ID and device ID");
  }
  const keyId = `ed25519:${requester.deviceId}`;
  const publicKey = Object.hasOwn(keys.keys, keyId) ? keys.keys[keyId] : undefined;
  if (publicKey === undefined) throw invalidParam(`'device_keys.keys' must contain the device's ed25519 key '${keyId}'`);
  if (!verifyJsonSignature(keys, requester.userId, keyId, publicKey)) {
    throw invalidParam("'device_keys' must be signed by the device's ed25519 key");
  }
  const { unsigned: _unsigned, ...stored } = keys;
  return stored;
}

/** Parses `<algorithm>:<key_id>` names; 400 M_INVALID_PARAM for a malformed one. */
function newKeys(keys: Record<string, OneTimeKey>, field: string): NewKey[] {
  return Object.entries(keys).map(([name, key]) => {
    const id = splitKeyId(name);
    if (!id) throw invalidParam(`'${field}' key names must look like '<algorithm>:<key_id>', not '${name}'`);
    return { ...id, json: keyJsonOrBad(key) };
  });
}

function keyJsonOrBad(key: OneTimeKey): string {
  try {
    return keyJson(key);
  } catch (err) {
    if (err instanceof MatrixError) throw invalidParam(`A key cannot be encoded as canonical JSON: ${err.message}`);
    throw err;
  }
}

/** A re-uploaded one-time key is the same if only its signatures differ. */
const sameOneTimeKey = (stored: string, uploaded: string): boolean => sameSignedContent(JSON.parse(stored), JSON.parse(uploaded));

export interface KeyStatus {
  counts: Record<string, number>;
  unusedFallback: string[];
}

const statusKey = (userId: string, deviceId: string) => `${userId}|${deviceId}`;

/** The client's `timeout` for other servers, within bounds. */
const remoteTimeout = (timeout: number | undefined): number =>
  Math.min(Math.max(timeout ?? DEFAULT_REMOTE_KEYS_TIMEOUT_MS, 1), MAX_REMOTE_KEYS_TIMEOUT_MS);

const withDefaultCount = (counts: Record<string, number>): Record<string, number> => ({ [SIGNED_CURVE25519]: 0, ...counts });

/**
 * What other servers may ask about this server's users (server-server-api,
 * "Querying for information", "Device Management", "End-to-End Encryption"):
 * profiles, device lists and identity keys, one-time key claims.
 *
 * These endpoints are for local users only. A profile query for anyone else
 * answers 404 (no such user here); a device or key request naming another
 * server's user breaks the spec's "must be local" and answers 400 M_INVALID_PARAM.
 */
import { invalidParam, notFound } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import type { JsonObject } from '../../spec/e2e-keys';
import type { ClaimKeysBody, QueryKeysBody } from '../../spec/schemas/keys';
import type { Services } from '../../server/services';

export interface UserDevicesResponse {
  user_id: string;
  stream_id: number;
  devices: { device_id: string; keys: JsonObject; device_display_name?: string }[];
  master_key?: JsonObject;
  self_signing_key?: JsonObject;
}

export interface FederationKeysResponse {
  device_keys: Record<string, Record<string, JsonObject>>;
  master_keys: Record<string, JsonObject>;
  self_signing_keys: Record<string, JsonObject>;
}

export class LocalUsers {
  constructor(private readonly services: Pick<Services, 'config' | 'stores' | 'profiles' | 'e2ee'>) {}

  /** GET /query/profile: the whole profile, or only `field` (404 if unset). */
  async profile(userId: string, field?: string): Promise<Record<string, unknown>> {
    // Never passed on: Profiles asks other servers about their users, which this endpoint must not do for a caller.
    const parsed = parseUserId(userId);
    if (parsed && parsed.serverName !== this.services.config.server_name) throw notFound('No such user on this server');
    if (field === undefined) return this.services.profiles.get(userId);
    return { [field]: await this.services.profiles.getField(userId, field) };
  }

  /**
   * GET /user/devices/{userId}: the user's devices that have identity keys
   * (the spec requires `keys` of each listed device; a device without them
   * cannot take part in encryption), and their cross-signing keys. `stream_id`
   * is the position of the user's latest device list change.
   */
  async devices(userId: string): Promise<UserDevicesResponse> {
    this.requireLocal(userId);
    const { stores, e2ee } = this.services;
    if (!(await stores.users.exists(userId))) throw notFound('Unknown user');
    const [keys, streamId] = await Promise.all([e2ee.keys.query(null, { device_keys: { [userId]: [] } }), stores.deviceListChanges.latestPublic(userId)]);
    const devices = Object.entries(keys.device_keys[userId] ?? {}).map(([deviceId, { unsigned, ...signed }]) => {
      const name = (unsigned as { device_display_name?: unknown } | undefined)?.device_display_name;
      return { device_id: deviceId, keys: signed, ...(typeof name === 'string' ? { device_display_name: name } : {}) };
    });
    const response: UserDevicesResponse = { user_id: userId, stream_id: streamId, devices };
    if (keys.master_keys[userId]) response.master_key = keys.master_keys[userId];
    if (keys.self_signing_keys[userId]) response.self_signing_key = keys.self_signing_keys[userId];
    return response;
  }

  /** POST /user/keys/query: as the client API answers, without what only the user themself may see. */
  async queryKeys(body: QueryKeysBody): Promise<FederationKeysResponse> {
    for (const userId of Object.keys(body.device_keys)) this.requireLocal(userId);
    const { device_keys, master_keys, self_signing_keys } = await this.services.e2ee.keys.query(null, body);
    return { device_keys, master_keys, self_signing_keys };
  }

  /** POST /user/keys/claim: one key per device, exclusively, as the client API claims them. */
  async claimKeys(body: ClaimKeysBody): Promise<{ one_time_keys: Record<string, Record<string, Record<string, unknown>>> }> {
    for (const userId of Object.keys(body.one_time_keys)) this.requireLocal(userId);
    const { one_time_keys } = await this.services.e2ee.keys.claim(body);
    return { one_time_keys };
  }

  private requireLocal(userId: string): void {
    const parsed = parseUserId(userId);
    if (!parsed) throw invalidParam(`'${userId.slice(0, 255)}' is not a valid user ID`);
    if (parsed.serverName !== this.services.config.server_name) throw invalidParam(`${userId} is not a user of this server`);
  }
}

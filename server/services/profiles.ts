/** Reading and changing user profiles (displayname, avatar_url, m.tz and custom fields). */
import { forbidden, invalidParam, MatrixError, notFound } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import { checkProfileKey, MAX_PROFILE_BYTES, profileFieldValue, profileSize } from '../../spec/schemas/profile';
import type { Db } from '../../storage/db';
import type { ProfileStore } from '../../storage/profiles';
import type { UserStore } from '../../storage/users';
import type { Requester } from '../http/route';
import type { RemoteProfiles } from '../rooms/remote-memberships';

/** The only field guests may change (guest access module). */
const GUEST_FIELDS = new Set(['displayname']);

export class Profiles {
  /** Other servers' users' profiles, once federation connects it; until then they are unknown users. */
  private remote: RemoteProfiles | undefined;

  constructor(
    private readonly db: Db,
    private readonly users: UserStore,
    private readonly profiles: ProfileStore,
    private readonly serverName: string,
  ) {}

  setRemote(remote: RemoteProfiles): void {
    this.remote = remote;
  }

  /** The whole profile of a user: a local user's from the database, another server's user's from their server; 404 for unknown users. */
  async get(userId: string): Promise<Record<string, unknown>> {
    if (this.isRemote(userId)) return this.remote!.profile(userId);
    await this.requireKnownUser(userId);
    return this.profiles.get(userId);
  }

  async getField(userId: string, key: string): Promise<unknown> {
    checkProfileKey(key);
    const value = this.isRemote(userId) ? (await this.remote!.profile(userId, key))[key] : await this.localField(userId, key);
    if (value === undefined) throw notFound(`No profile field '${key}'`);
    return value;
  }

  private async localField(userId: string, key: string): Promise<unknown> {
    await this.requireKnownUser(userId);
    return this.profiles.getField(userId, key);
  }

  private isRemote(userId: string): boolean {
    const parsed = parseUserId(userId);
    return this.remote !== undefined && parsed !== null && parsed.serverName !== this.serverName;
  }

  /** Sets `key` from a PUT body holding exactly that key. */
  async setField(requester: Requester, userId: string, key: string, body: Record<string, unknown>): Promise<void> {
    this.checkMayChange(requester, userId, key);
    const value = profileFieldValue(key, body);
    await this.db.transaction(async (trx) => {
      if (value !== null) {
        const updated = { ...(await this.profiles.get(userId, trx)), [key]: value };
        if (profileSize(updated) >= MAX_PROFILE_BYTES) {
          throw new MatrixError(400, 'M_PROFILE_TOO_LARGE', `The profile may not exceed ${MAX_PROFILE_BYTES} bytes`);
        }
      }
      await this.profiles.setField(userId, key, value, trx);
    });
  }

  /** Removes `key`; succeeds whether or not it was set. */
  async deleteField(requester: Requester, userId: string, key: string): Promise<void> {
    this.checkMayChange(requester, userId, key);
    await this.profiles.setField(userId, key, null);
  }

  private checkMayChange(requester: Requester, userId: string, key: string): void {
    if (requester.userId !== userId) throw forbidden("Cannot change another user's profile");
    checkProfileKey(key);
    if (requester.isGuest && !GUEST_FIELDS.has(key)) {
      throw new MatrixError(403, 'M_GUEST_ACCESS_FORBIDDEN', `Guests may not change '${key}'`);
    }
  }

  private async requireKnownUser(userId: string): Promise<void> {
    const parsed = parseUserId(userId);
    if (!parsed) throw invalidParam(`Invalid user ID '${userId}'`);
    if (parsed.serverName !== this.serverName || !(await this.users.exists(userId))) {
      throw notFound('Profile not found');
    }
  }
}

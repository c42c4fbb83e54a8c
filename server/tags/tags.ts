/**
 * Room tags (tags module), kept as the room's `m.tag` account data
 * (`{tags: {name: {order?}}}`) so they reach /sync like any account data.
 * Adding or removing one tag rewrites that entry; the rewrites of one user's
 * tags on one room run one at a time so that none is lost.
 */
import type { TagBody } from '../../spec/schemas/tags';
import type { AccountData } from '../services/account-data';

export const TAG_TYPE = 'm.tag';

export type RoomTags = Record<string, TagBody>;

export class Tags {
  /** The last rewrite of each (user, room) entry: the next one waits for it. */
  private readonly rewrites = new Map<string, Promise<unknown>>();

  constructor(private readonly accountData: AccountData) {}

  async of(userId: string, roomId: string): Promise<RoomTags> {
    const content = await this.accountData.get(userId, roomId, TAG_TYPE);
    const tags = content?.tags;
    return typeof tags === 'object' && tags !== null && !Array.isArray(tags) ? (tags as RoomTags) : {};
  }

  /** Adds the tag, or replaces what it carries. */
  add(userId: string, roomId: string, tag: string, body: TagBody): Promise<void> {
    return this.rewrite(userId, roomId, (tags) => ({ ...tags, [tag]: body }));
  }

  /** Removes the tag; nothing changes if the room does not have it. */
  remove(userId: string, roomId: string, tag: string): Promise<void> {
    return this.rewrite(userId, roomId, (tags) => {
      if (!Object.hasOwn(tags, tag)) return undefined;
      return Object.fromEntries(Object.entries(tags).filter(([name]) => name !== tag));
    });
  }

  private rewrite(userId: string, roomId: string, edit: (tags: RoomTags) => RoomTags | undefined): Promise<void> {
    const key = `${userId}\u0000${roomId}`;
    const run = (this.rewrites.get(key) ?? Promise.resolve()).then(async () => {
      const tags = edit(await this.of(userId, roomId));
      if (tags !== undefined) await this.accountData.put(userId, roomId, TAG_TYPE, { tags });
    });
    const settled = run.catch(() => {});
    this.rewrites.set(key, settled);
    void settled.then(() => {
      if (this.rewrites.get(key) === settled) this.rewrites.delete(key);
    });
    return run;
  }
}

/**
 * The `from` tokens of GET /hierarchy: where a walk of a space tree stopped,
 * kept in memory under a random token for a while. A token is good only for
 * the user, room, `suggested_only` and `max_depth` it was made for, in this
 * process, until it expires or is pushed out by newer ones.
 */
import { randomBytes } from 'node:crypto';
import { invalidParam } from '../../spec/errors';
import type { RemoteChild } from './remote-hierarchy';

/** A room still to visit: how deep it is, the servers to ask about it, and what its parent's answer from another server said of it. */
export interface WalkEntry {
  roomId: string;
  depth: number;
  via: readonly string[];
  hint?: RemoteChild | 'inaccessible';
}

/** A walk: rooms still to visit (the next on top) and rooms already taken (never visited twice, which breaks loops). */
export interface Walk {
  stack: WalkEntry[];
  seen: Set<string>;
}

/** What a walk was started with; a token is refused for anything else. */
export interface WalkKey {
  userId: string;
  roomId: string;
  suggestedOnly: boolean;
  maxDepth: number;
}

export interface WalkPagesOptions {
  /** How long a token stays good. */
  ttlMs: number;
  /** Tokens kept at most; the oldest go first. */
  maxTokens: number;
  now: () => number;
}

export const DEFAULT_WALK_PAGES_OPTIONS: WalkPagesOptions = { ttlMs: 10 * 60_000, maxTokens: 2_000, now: Date.now };

interface Saved {
  key: WalkKey;
  walk: Walk;
  expiresAt: number;
}

export class WalkPages {
  private readonly saved = new Map<string, Saved>();

  constructor(private readonly options: WalkPagesOptions = DEFAULT_WALK_PAGES_OPTIONS) {}

  /** A token for the rest of the walk. */
  save(key: WalkKey, walk: Walk): string {
    this.evict();
    const token = randomBytes(18).toString('base64url');
    this.saved.set(token, { key, walk: copy(walk), expiresAt: this.options.now() + this.options.ttlMs });
    if (this.saved.size > this.options.maxTokens) this.saved.delete(this.saved.keys().next().value!);
    return token;
  }

  /**
   * A copy of the walk the token was made for (a token may be used again, as
   * when a response was lost). 400 M_INVALID_PARAM for a token that is
   * unknown, expired, or another user's or room's, and for one made with
   * another `suggested_only` or `max_depth`.
   */
  resume(token: string, key: WalkKey): Walk {
    const saved = this.saved.get(token);
    if (!saved || saved.expiresAt <= this.options.now() || saved.key.userId !== key.userId || saved.key.roomId !== key.roomId) {
      throw invalidParam("Unknown or expired 'from' token");
    }
    if (saved.key.suggestedOnly !== key.suggestedOnly || saved.key.maxDepth !== key.maxDepth) {
      throw invalidParam('suggested_only and max_depth cannot change on paginated requests');
    }
    return copy(saved.walk);
  }

  /** Drops expired tokens (the oldest are first: every token lives as long). */
  private evict(): void {
    const now = this.options.now();
    for (const [token, saved] of this.saved) {
      if (saved.expiresAt > now) break;
      this.saved.delete(token);
    }
  }
}

const copy = (walk: Walk): Walk => ({ stack: [...walk.stack], seen: new Set(walk.seen) });

/**
 * The device list stream: for each user, the position of their latest device
 * list change (docs/e2ee.md). A change is public (everyone who shares a room
 * with the user is told) or meant for one user only (signatures by that user's
 * user-signing key). Each change moves the user's row to a new, higher position.
 */
import type { Db } from './db';
import { StreamPositions } from './stream-positions';
import { listOf } from './transactions';

/** The visible_to of a public change. */
const EVERYONE = '';

export interface DeviceListChange {
  userId: string;
  /** Whether everyone who shares a room with the user sees it (else only the viewer asked about). */
  public: boolean;
}

export class DeviceListChangeStore {
  /** Positions in this stream that readers may rely on (`latest()`), and when a write may be announced (`caughtUp()`). */
  readonly positions: StreamPositions;

  constructor(private readonly db: Db) {
    this.positions = new StreamPositions(db, 'device_list_changes', 'stream_id');
  }

  /** Records a change of `userId`'s device list, public or only for `visibleTo`; returns its position. */
  async record(userId: string, visibleTo: string | null, trx: Db = this.db): Promise<number> {
    return this.positions.track(
      trx,
      async () => {
        // On conflict the row takes the stream_id freshly allocated for the insert that did not happen.
        const [row] = await trx('device_list_changes')
          .insert({ user_id: userId, visible_to: visibleTo ?? EVERYONE })
          .onConflict(['user_id', 'visible_to'])
          .merge({ stream_id: trx.raw('excluded.stream_id') })
          .returning('stream_id');
        return Number(row.stream_id);
      },
      (position) => position,
    );
  }

  /** The users whose latest change `viewer` may see lies in (after, upTo]. */
  async changesIn(viewer: string, after: number, upTo: number): Promise<DeviceListChange[]> {
    const rows: { user_id: string; visible_to: string }[] = await this.db('device_list_changes')
      .where('stream_id', '>', after)
      .andWhere('stream_id', '<=', upTo)
      .whereIn('visible_to', [EVERYONE, viewer])
      .select('user_id', 'visible_to');
    return rows.map((r) => ({ userId: r.user_id, public: r.visible_to === EVERYONE }));
  }

  /** The position of the user's latest public change; 0 if there has been none. */
  async latestPublic(userId: string, db: Db = this.db): Promise<number> {
    const row = await db('device_list_changes').where({ user_id: userId, visible_to: EVERYONE }).first('stream_id');
    return row === undefined ? 0 : Number(row.stream_id);
  }

  /** Those of `candidates` joined to at least one room `userId` is joined to. */
  async sharingARoomWith(userId: string, candidates: readonly string[]): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const db = this.db;
    const rows: { state_key: string }[] = await db('current_state as mine')
      .join('events as em', 'em.nid', 'mine.event_nid')
      .join('current_state as other', function () {
        this.on('other.room_nid', '=', 'mine.room_nid').andOn('other.type', '=', 'mine.type');
      })
      .join('events as eo', 'eo.nid', 'other.event_nid')
      .where({ 'mine.type': 'm.room.member', 'mine.state_key': userId, 'em.membership': 'join', 'eo.membership': 'join' })
      .whereIn('other.state_key', listOf(db, candidates, 'text'))
      .distinct('other.state_key');
    return new Set(rows.map((r) => r.state_key));
  }
}

/**
 * The device list stream: for each user, the position of their latest device
 * list change (docs/e2ee.md). A change is public (everyone who shares a room
 * with the user is told) or meant for one user only (signatures by that user's
 * user-signing key). Each change moves the user's row to a new, higher position.
 */
import type { Db } from './db';
import { StreamPositions } from './stream-positions';

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
}

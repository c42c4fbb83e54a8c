/** Room aliases this server hosts: `#localpart:our.server` → room ID, with who created each. */
import type { Db } from './db';

export interface RoomAlias {
  alias: string;
  roomId: string;
  creator: string;
}

export class RoomAliasStore {
  constructor(private readonly db: Db) {}

  /** Maps the alias to the room; false if the alias is taken. */
  async insert(alias: RoomAlias, nowMs: number, db: Db = this.db): Promise<boolean> {
    const inserted = await db('room_aliases')
      .insert({ alias: alias.alias, room_id: alias.roomId, creator: alias.creator, created_ts: nowMs })
      .onConflict('alias')
      .ignore()
      .returning('alias');
    return inserted.length > 0;
  }

  async get(alias: string, db: Db = this.db): Promise<RoomAlias | undefined> {
    const row = await db('room_aliases').where({ alias }).first('alias', 'room_id', 'creator');
    return row && { alias: row.alias, roomId: row.room_id, creator: row.creator };
  }

  /** Removes the alias; false if there was none. */
  async delete(alias: string, db: Db = this.db): Promise<boolean> {
    return (await db('room_aliases').where({ alias }).delete()) > 0;
  }

  /** The room's aliases, oldest first. */
  async ofRoom(roomId: string, db: Db = this.db): Promise<string[]> {
    const rows = await db('room_aliases').where({ room_id: roomId }).orderBy([{ column: 'created_ts' }, { column: 'alias' }]).select('alias');
    return rows.map((r: { alias: string }) => r.alias);
  }
}

/**
 * Room state as the room engine and clients ask for it: the state before and
 * after an event, and each room's current state. The current state is the
 * materialisation of one state group (rooms.current_state_group) in the
 * current_state table, so a room's present state is read with one indexed query.
 */
import { splitStateTuple, stateTuple, type RoomEvent, type StateEvents, type StateMap, type StateTuple } from '../spec/pdu';
import type { Db } from './db';
import type { RoomStore } from './rooms';
import type { StateGroupStore, StateRef } from './state-groups';
import { batches } from './transactions';

export class RoomStateStore {
  constructor(
    private readonly db: Db,
    private readonly rooms: RoomStore,
    private readonly groups: StateGroupStore,
  ) {}

  /** The state before the event; undefined for an outlier or an unknown event. */
  async stateBefore(eventId: string, db: Db = this.db): Promise<StateMap | undefined> {
    return this.stateAt(eventId, 'state_before', db);
  }

  /** The state after the event (the same as before unless it is an accepted or soft-failed state event). */
  async stateAfter(eventId: string, db: Db = this.db): Promise<StateMap | undefined> {
    return this.stateAt(eventId, 'state_after', db);
  }

  /** The state group the room's current state materialises; null before it is first set. */
  async currentStateGroup(roomId: string, db: Db = this.db): Promise<number | null> {
    const row = await db('rooms').where({ room_id: roomId }).first('current_state_group');
    return row?.current_state_group == null ? null : Number(row.current_state_group);
  }

  async currentState(roomId: string, db: Db = this.db): Promise<StateMap> {
    const rows = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where('cs.room_nid', await this.rooms.nid(roomId, db))
      .select('cs.type', 'cs.state_key', 'e.event_id');
    return new Map(rows.map((r) => [stateTuple(r.type, r.state_key), r.event_id as string]));
  }

  async currentStateEvent(roomId: string, type: string, stateKey: string, db: Db = this.db): Promise<RoomEvent | undefined> {
    const row = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where({ 'cs.room_nid': await this.rooms.nid(roomId, db), 'cs.type': type, 'cs.state_key': stateKey })
      .first('e.event_id', 'e.pdu_json');
    return row && { id: row.event_id, pdu: JSON.parse(row.pdu_json) };
  }

  /** Several entries of the current state in one query (e.g. those the auth rules read); absent entries are left out. */
  async currentStateEvents(roomId: string, tuples: Iterable<StateTuple>, db: Db = this.db): Promise<StateEvents> {
    const pairs = [...new Set(tuples)].map((tuple) => {
      const { type, stateKey } = splitStateTuple(tuple);
      return [type, stateKey];
    });
    if (pairs.length === 0) return new Map();
    const rows = await db('current_state as cs')
      .join('events as e', 'e.nid', 'cs.event_nid')
      .where('cs.room_nid', await this.rooms.nid(roomId, db))
      .whereIn(['cs.type', 'cs.state_key'], pairs)
      .select('cs.type', 'cs.state_key', 'e.event_id', 'e.pdu_json');
    return new Map(rows.map((r) => [stateTuple(r.type, r.state_key), { id: r.event_id, pdu: JSON.parse(r.pdu_json) }]));
  }

  /**
   * Makes `group` the room's current state, writing only the entries that differ
   * from the previous current state. `outOfBand`: the change comes with no
   * timeline event (a membership of a room this server is not in), so it is
   * not noted on the room's latest event.
   */
  async setCurrentState(trx: Db, roomId: string, group: number, options: { outOfBand?: boolean } = {}): Promise<void> {
    const roomNid = await this.rooms.nid(roomId, trx);
    if (!options.outOfBand) await this.recordOnLatestEvent(trx, roomNid, group);
    const previous = await this.currentStateGroup(roomId, trx);
    if (previous === group) return;
    const changes: Map<StateTuple, StateRef | null> = previous === null ? await this.groups.readRefs(group, trx) : await this.groups.diff(previous, group, trx);

    const upserts: { room_nid: number; type: string; state_key: string; event_nid: number }[] = [];
    const removals: [string, string][] = [];
    for (const [key, ref] of changes) {
      const { type, stateKey } = splitStateTuple(key);
      if (ref === null) removals.push([type, stateKey]);
      else upserts.push({ room_nid: roomNid, type, state_key: stateKey, event_nid: ref.nid });
    }
    for (const batch of batches(upserts, 400)) {
      await trx('current_state').insert(batch).onConflict(['room_nid', 'type', 'state_key']).merge(['event_nid']);
    }
    for (const batch of batches(removals, 400)) {
      await trx('current_state').where('room_nid', roomNid).whereIn(['type', 'state_key'], batch).delete();
    }
    await trx('rooms').where({ nid: roomNid }).update({ current_state_group: group });
  }

  /**
   * Notes `group` as the room's state once its latest accepted event was
   * applied, where that differs from the event's own state after it (it sits on
   * a fork): /sync reads the room's state at a stream position from there.
   */
  private async recordOnLatestEvent(trx: Db, roomNid: number, group: number): Promise<void> {
    const latest = await trx('events').where('room_nid', roomNid).whereNotNull('stream_ordering').orderBy('stream_ordering', 'desc').first('nid', 'state_after');
    if (latest && (latest.state_after === null ? null : Number(latest.state_after)) !== group) await trx('events').where('nid', latest.nid).update({ room_state: group });
  }

  private async stateAt(eventId: string, column: 'state_before' | 'state_after', db: Db): Promise<StateMap | undefined> {
    const row = await db('events').where({ event_id: eventId }).first(column);
    if (!row || row[column] === null) return undefined;
    return this.groups.read(Number(row[column]), db);
  }
}

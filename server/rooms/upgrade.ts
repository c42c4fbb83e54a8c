/**
 * POST /rooms/{roomId}/upgrade (room_upgrades.yaml; modules/room_upgrades.md,
 * "Server behaviour"): replaces a room with a new one of another room version.
 *
 * 1. The requester must be joined and able to send m.room.tombstone.
 * 2. A new room is created whose m.room.create names the old room as its
 *    `predecessor` and keeps its `type` (and `m.federate: false`); in room
 *    version 12 the request's `additional_creators` join the upgrader as creators.
 * 3. The transferable state is copied: power levels (adjusted to the new
 *    version's creators), join rules (allow conditions naming the old room now
 *    name the new one), the recommended state types, the canonical alias, a
 *    space's children, and bans. Nobody is invited: members join themselves.
 * 4. The old room gets an m.room.tombstone naming the new room, loses its
 *    canonical alias, and has `events_default` and `invite` raised so that
 *    ordinary members can no longer speak or invite there.
 * 5. The old room's local aliases now name the new room, and if the old room
 *    was in the published room directory, the new room takes its place (as
 *    Synapse does).
 *
 * `predecessor.event_id` is "the last known event in the old room": the latest
 * event before the upgrade. (The tombstone's own ID cannot be known before the
 * new room, whose ID it names, exists.)
 */
import { MatrixError, forbidden, invalidParam, notFound } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import { splitStateTuple, stateTuple, type RoomEvent, type StateEvents } from '../../spec/pdu';
import {
  CREATE_TUPLE,
  NAMED_LEVELS,
  POWER_LEVELS_TUPLE,
  PowerLevels,
  isJsonObject,
  powerLevelValue,
  roomCreators,
} from '../../spec/power-levels';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import type { UpgradeBody } from '../../spec/schemas/rooms';
import type { Stores } from '../../storage';
import type { Appender, EventSender } from './event-sender';
import { isRestrictedJoinRule } from './restricted-join';

export interface UpgradeDeps {
  stores: Stores;
  sender: EventSender;
  /** The upgrader's displayname and avatar, for their join event in the new room. */
  profileOf(userId: string): Promise<Record<string, unknown>>;
  now(): number;
}

const JOIN_RULES_TUPLE = stateTuple('m.room.join_rules', '');
const CANONICAL_ALIAS = 'm.room.canonical_alias';

/** State copied unchanged: the spec's recommended list (less join rules and power levels, which are adjusted) and the canonical alias. */
const COPIED_AS_IS = [
  'm.room.server_acl',
  'm.room.encryption',
  'm.room.name',
  'm.room.avatar',
  'm.room.topic',
  'm.room.guest_access',
  'm.room.history_visibility',
  CANONICAL_ALIAS,
];

const TOMBSTONE_BODY = 'This room has been replaced';

/** The level below which members may not speak or invite in an upgraded room, at least. */
const RESTRICTED_LEVEL = 50;
/** The level given to creators who lose their infinite power (or implicit 100) in the new room, at least. */
const ADMIN_LEVEL = 100;

interface OldRoom {
  roomId: string;
  version: RoomVersion;
  /** The create event, power levels, join rules, the copied types and a space's children. */
  state: StateEvents;
  bans: RoomEvent[];
  lastEventId: string | undefined;
}

export async function upgradeRoom(upgrader: string, roomId: string, request: UpgradeBody, deps: UpgradeDeps): Promise<string> {
  const version = roomVersion(request.new_version);
  if (!version) throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${request.new_version} is not supported`);
  const additionalCreators = version.privilegedCreators ? additionalCreatorsOf(request, upgrader) : [];
  const old = await readOldRoom(deps.stores, roomId);
  await requireTombstonePower(deps.stores, old, upgrader);

  const newRoomId = await createReplacement(old, version, upgrader, additionalCreators, deps);
  await retireOldRoom(deps, old, upgrader, newRoomId);
  await moveDirectoryEntries(deps, roomId, newRoomId);
  return newRoomId;
}

function additionalCreatorsOf(request: UpgradeBody, upgrader: string): string[] {
  const ids = request.additional_creators ?? [];
  for (const id of ids) if (!parseUserId(id)) throw invalidParam(`'${id}' is not a valid user ID`);
  return [...new Set(ids)].filter((id) => id !== upgrader);
}

async function readOldRoom(stores: Stores, roomId: string): Promise<OldRoom> {
  const row = await stores.rooms.get(roomId);
  const version = row && roomVersion(row.version);
  if (!row || !version) throw notFound('Unknown room');
  const current = await stores.roomState.currentState(roomId);
  const create = current.get(CREATE_TUPLE);
  const createEvent = create === undefined ? undefined : (await stores.events.get([create])).get(create);
  const isSpace = createEvent?.event.pdu.content.type === 'm.space';
  const wanted = new Set([CREATE_TUPLE, POWER_LEVELS_TUPLE, JOIN_RULES_TUPLE, ...COPIED_AS_IS.map((type) => stateTuple(type, ''))]);
  const ids = [...current].filter(([tuple]) => wanted.has(tuple) || (isSpace && splitStateTuple(tuple).type === 'm.space.child')).map(([, id]) => id);
  const events = await stores.events.get(ids);
  const state: StateEvents = new Map();
  for (const stored of events.values()) {
    const { pdu } = stored.event;
    state.set(stateTuple(pdu.type, pdu.state_key!), stored.event);
  }
  const bans = (await stores.memberships.members(roomId, { membership: 'ban' })).map((m) => m.event);
  const [latest] = await stores.events.forwardExtremities(roomId);
  return { roomId, version, state, bans, lastEventId: latest?.eventId };
}

async function requireTombstonePower(stores: Stores, old: OldRoom, userId: string): Promise<void> {
  if ((await stores.memberships.of(old.roomId, userId)) !== 'join') throw forbidden('You are not in this room');
  const levels = PowerLevels.fromState(old.state, old.version);
  if (levels.user(userId) < levels.required('m.room.tombstone', true)) throw forbidden('You do not have the power to upgrade this room');
}

async function createReplacement(old: OldRoom, version: RoomVersion, upgrader: string, additionalCreators: string[], deps: UpgradeDeps): Promise<string> {
  const oldCreate = old.state.get(CREATE_TUPLE)?.pdu.content ?? {};
  const predecessor: Record<string, unknown> = { room_id: old.roomId };
  if (old.lastEventId !== undefined) predecessor.event_id = old.lastEventId;
  const content: Record<string, unknown> = { room_version: version.id, predecessor };
  if (typeof oldCreate.type === 'string') content.type = oldCreate.type;
  if (oldCreate['m.federate'] === false) content['m.federate'] = false;
  if (additionalCreators.length > 0) content.additional_creators = additionalCreators;

  const newCreators = version.privilegedCreators ? new Set([upgrader, ...additionalCreators]) : new Set([upgrader]);
  const levels = powerLevelsPlan(old, version, upgrader, newCreators);
  const profile = await deps.profileOf(upgrader);
  const { room } = await deps.sender.createRoom(version, { type: 'm.room.create', stateKey: '', sender: upgrader, content }, async (appender) => {
    const send = (type: string, body: Record<string, unknown>, stateKey = '') => appender.append({ type, stateKey, content: body, sender: upgrader });
    await send('m.room.member', { membership: 'join', ...profile }, upgrader);
    await send('m.room.power_levels', levels.initial);
    const joinRules = old.state.get(JOIN_RULES_TUPLE)?.pdu.content;
    if (joinRules) await send('m.room.join_rules', joinRulesFor(joinRules, version, old.roomId, appender.room.roomId));
    for (const event of copiedState(old)) await copy(appender, upgrader, event);
    for (const ban of old.bans) {
      if (levels.initialLevels.user(ban.pdu.state_key!) >= levels.initialLevels.user(upgrader)) continue;
      const reason = ban.pdu.content.reason;
      await send('m.room.member', { membership: 'ban', ...(typeof reason === 'string' && { reason }) }, ban.pdu.state_key);
    }
    if (levels.final !== levels.initial) await send('m.room.power_levels', levels.final);
  });
  return room.roomId;
}

/** The old room's copied state events with content (an emptied event is not worth copying). */
function copiedState(old: OldRoom): RoomEvent[] {
  return [...old.state.values()].filter(
    (e) => (COPIED_AS_IS.includes(e.pdu.type) || e.pdu.type === 'm.space.child') && Object.keys(e.pdu.content).length > 0,
  );
}

/** Copies one state event; content the new room refuses (400/403) is left behind rather than failing the upgrade. */
async function copy(appender: Appender, upgrader: string, event: RoomEvent): Promise<void> {
  try {
    await appender.append({ type: event.pdu.type, stateKey: event.pdu.state_key, content: event.pdu.content, sender: upgrader });
  } catch (err) {
    if (!(err instanceof MatrixError) || (err.status !== 400 && err.status !== 403)) throw err;
  }
}

/**
 * The new room's power levels: the old ones with integer levels; in room
 * version 12 without the new creators (who have infinite power); otherwise
 * with creators who lose their infinite power at the top level. While the
 * state is copied the upgrader holds at least every level it needs (`initial`),
 * and then takes back their own level (`final`).
 */
function powerLevelsPlan(
  old: OldRoom,
  version: RoomVersion,
  upgrader: string,
  newCreators: ReadonlySet<string>,
): { initial: Record<string, unknown>; final: Record<string, unknown>; initialLevels: PowerLevels } {
  const oldContent = old.state.get(POWER_LEVELS_TUPLE)?.pdu.content;
  const oldLevels = PowerLevels.fromState(old.state, old.version);
  const final = integerLevels(oldContent, old.version);
  const users = final.users as Record<string, number>;
  const adminLevel = Object.values(users).reduce((max, n) => Math.max(max, n), ADMIN_LEVEL);
  for (const creator of roomCreators(old.state.get(CREATE_TUPLE)?.pdu, old.version)) {
    const level = oldLevels.user(creator);
    if (!Number.isFinite(level) || oldContent === undefined) users[creator] = Number.isFinite(level) ? level : adminLevel;
  }
  if (version.privilegedCreators) for (const creator of newCreators) delete users[creator];

  const finalLevels = new PowerLevels(final, newCreators, version);
  const needed = Math.max(
    finalLevels.required('m.room.power_levels', true),
    finalLevels.required('m.room.join_rules', true),
    ...copiedState(old).map((e) => finalLevels.required(e.pdu.type, true)),
    ...(old.bans.length > 0 ? [finalLevels.named('ban')] : []),
  );
  if (finalLevels.user(upgrader) >= needed) return { initial: final, final, initialLevels: finalLevels };
  const initial = { ...final, users: { ...users, [upgrader]: needed } };
  return { initial, final, initialLevels: new PowerLevels(initial, newCreators, version) };
}

/** Power levels content with every level an integer, as new events must have them; levels the old version could not read are dropped. */
function integerLevels(content: Record<string, unknown> | undefined, version: RoomVersion): Record<string, unknown> {
  const out: Record<string, unknown> = { ...content };
  const level = (value: unknown) => {
    const n = powerLevelValue(value, version);
    return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
  };
  for (const name of NAMED_LEVELS) {
    if (!Object.hasOwn(out, name)) continue;
    const n = level(out[name]);
    if (n === undefined) delete out[name];
    else out[name] = n;
  }
  for (const key of ['events', 'notifications', 'users']) {
    const map: Record<string, number> = {};
    const given = out[key];
    if (isJsonObject(given)) {
      for (const [k, v] of Object.entries(given)) {
        const n = level(v);
        if (n !== undefined && (key !== 'users' || parseUserId(k))) map[k] = n;
      }
    }
    if (key === 'users' || isJsonObject(given)) out[key] = map;
    else delete out[key];
  }
  return out;
}

/** The old join rules as the new version can hold them, allow conditions naming the old room moved to the new one. */
function joinRulesFor(content: Record<string, unknown>, version: RoomVersion, oldRoomId: string, newRoomId: string): Record<string, unknown> {
  const rule = supportedJoinRule(content.join_rule, version);
  const out: Record<string, unknown> = { ...content, join_rule: rule };
  if (!isRestrictedJoinRule(rule, version)) {
    if (rule !== content.join_rule) delete out.allow;
    return out;
  }
  if (Array.isArray(content.allow)) {
    out.allow = content.allow.map((c) => (isJsonObject(c) && c.room_id === oldRoomId ? { ...c, room_id: newRoomId } : c));
  }
  return out;
}

/** The nearest join rule the version supports: knock_restricted → restricted → knock → invite. */
function supportedJoinRule(rule: unknown, version: RoomVersion): unknown {
  if (rule === 'knock_restricted' && !version.knockRestricted) return version.restrictedJoins ? 'restricted' : supportedJoinRule('knock', version);
  if (rule === 'restricted' && !version.restrictedJoins) return 'invite';
  if (rule === 'knock' && !version.knocking) return 'invite';
  return rule;
}

/**
 * The old room after the new one exists: the tombstone; then, where the
 * upgrader's power allows, its canonical alias removed (the new room has it)
 * and events_default and invite raised to the greater of 50 and users_default + 1.
 */
async function retireOldRoom(deps: UpgradeDeps, old: OldRoom, upgrader: string, newRoomId: string): Promise<void> {
  await deps.sender.inRoom(old.roomId, async (room) => {
    const send = (type: string, content: Record<string, unknown>) => room.append({ type, stateKey: '', content, sender: upgrader });
    await send('m.room.tombstone', { body: TOMBSTONE_BODY, replacement_room: newRoomId });
    const aliasTuple = stateTuple(CANONICAL_ALIAS, '');
    const state = await deps.stores.roomState.currentStateEvents(old.roomId, [CREATE_TUPLE, POWER_LEVELS_TUPLE, aliasTuple], room.trx);
    const alias = state.get(aliasTuple);
    if (alias && Object.keys(alias.pdu.content).length > 0) await bestEffort(send(CANONICAL_ALIAS, {}));
    const restricted = restrictedPowerLevels(PowerLevels.fromState(state, old.version));
    if (restricted) await bestEffort(send('m.room.power_levels', restricted));
  });
}

function restrictedPowerLevels(levels: PowerLevels): Record<string, unknown> | undefined {
  const content = integerLevels(levels.content, levels.version);
  if (levels.content === undefined && !levels.version.privilegedCreators) {
    for (const creator of levels.creators) (content.users as Record<string, number>)[creator] = levels.user(creator);
  }
  const restrictedLevel = Math.max(RESTRICTED_LEVEL, levels.named('users_default') + 1);
  let changed = false;
  for (const name of ['events_default', 'invite'] as const) {
    if (levels.named(name) < restrictedLevel) {
      content[name] = restrictedLevel;
      changed = true;
    }
  }
  return changed ? content : undefined;
}

/** Local aliases and the published directory entry follow the room. */
async function moveDirectoryEntries(deps: UpgradeDeps, oldRoomId: string, newRoomId: string): Promise<void> {
  const { roomAliases, roomDirectory } = deps.stores;
  await deps.stores.db.transaction(async (trx) => {
    for (const alias of await roomAliases.ofRoom(oldRoomId, trx)) {
      const entry = await roomAliases.get(alias, trx);
      if (!entry) continue;
      await roomAliases.delete(alias, trx);
      await roomAliases.insert({ ...entry, roomId: newRoomId }, deps.now(), trx);
    }
    if (await roomDirectory.isPublished(oldRoomId, trx)) {
      await roomDirectory.publish(newRoomId, deps.now(), trx);
      await roomDirectory.unpublish(oldRoomId, trx);
    }
  });
}

/** A follow-up the auth rules may refuse (the upgrader lacks the power) without undoing the upgrade. */
async function bestEffort(append: Promise<unknown>): Promise<void> {
  try {
    await append;
  } catch (err) {
    if (!(err instanceof MatrixError) || err.status !== 403) throw err;
  }
}

/**
 * POST /createRoom: the events a request implies, in the order the spec fixes
 * (create_room.yaml): create, the creator's join, power levels, canonical
 * alias, the preset's rules, initial_state, name and topic, invites.
 */
import { MatrixError } from '../../spec/errors';
import { roomVersion, type RoomVersion } from '../../spec/room-versions';
import type { CreateRoomBody } from '../../spec/schemas/rooms';
import type { EventDraft } from './event-builder';
import type { Appender, EventSender, Room } from './event-sender';

type Preset = NonNullable<CreateRoomBody['preset']>;

const PRESETS: Record<Preset, { join_rule: string; history_visibility: string; guest_access: string }> = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_access: 'forbidden' },
};

export interface CreateRoomDeps {
  sender: EventSender;
  defaultVersion: string;
  /** The creator's displayname and avatar, copied into their join event as Synapse does. */
  profileOf(userId: string): Promise<Record<string, unknown>>;
  /** Reserves `#localpart:server` for the room; throws 400 M_ROOM_IN_USE if taken. */
  reserveAlias?(alias: string, roomId: string, creator: string, append: Appender): Promise<void>;
  serverName: string;
  /** Whether an invitee is invited in the creating transaction; the others (other servers' users) are invited by the caller afterwards. */
  invitesHere?(invitee: string): boolean;
}

export async function createRoom(creator: string, request: CreateRoomBody, deps: CreateRoomDeps): Promise<Room> {
  const version = roomVersion(request.room_version ?? deps.defaultVersion);
  if (!version) {
    throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${request.room_version} is not supported`);
  }
  const preset: Preset = request.preset ?? (request.visibility === 'public' ? 'public_chat' : 'private_chat');
  const invitees = request.invite ?? [];
  if ((request.invite_3pid ?? []).length > 0) {
    throw new MatrixError(400, 'M_UNKNOWN', 'Third-party invites are not supported: this server has no identity server');
  }
  const profile = await deps.profileOf(creator);

  const { room } = await deps.sender.createRoom(version, createDraft(creator, request, preset, invitees, version), async (room) => {
    const state = (type: string, content: Record<string, unknown>, stateKey = ''): Promise<unknown> =>
      room.append({ type, stateKey, content, sender: creator });

    await state('m.room.member', { membership: 'join', ...profile }, creator);
    await state('m.room.power_levels', powerLevels(creator, preset, invitees, version, request.power_level_content_override));
    if (request.room_alias_name !== undefined) {
      const alias = `#${request.room_alias_name}:${deps.serverName}`;
      if (!deps.reserveAlias) throw new MatrixError(400, 'M_UNKNOWN', 'Room aliases are not supported');
      await deps.reserveAlias(alias, room.room.roomId, creator, room);
      await state('m.room.canonical_alias', { alias });
    }
    const rules = PRESETS[preset];
    await state('m.room.join_rules', { join_rule: rules.join_rule });
    await state('m.room.history_visibility', { history_visibility: rules.history_visibility });
    await state('m.room.guest_access', { guest_access: rules.guest_access });
    for (const initial of request.initial_state ?? []) {
      await state(initial.type, initial.content, initial.state_key ?? '');
    }
    if (request.name !== undefined) await state('m.room.name', { name: request.name });
    if (request.topic !== undefined) {
      await state('m.room.topic', { topic: request.topic, 'm.topic': { 'm.text': [{ body: request.topic, mimetype: 'text/plain' }] } });
    }
    for (const invitee of invitees.filter((id) => deps.invitesHere?.(id) ?? true)) {
      const content: Record<string, unknown> = { membership: 'invite' };
      if (request.is_direct) content.is_direct = true;
      await state('m.room.member', content, invitee);
    }
  });
  return room;
}

function createDraft(creator: string, request: CreateRoomBody, preset: Preset, invitees: string[], version: RoomVersion): EventDraft {
  const content: Record<string, unknown> = { ...request.creation_content, room_version: version.id };
  if (version.privilegedCreators && preset === 'trusted_private_chat' && invitees.length > 0) {
    const given = Array.isArray(content.additional_creators) ? (content.additional_creators as unknown[]) : [];
    content.additional_creators = [...new Set([...given, ...invitees])];
  }
  return { type: 'm.room.create', stateKey: '', sender: creator, content };
}

/** The default power levels (Synapse's, which clients expect), then the request's override. */
function powerLevels(
  creator: string,
  preset: Preset,
  invitees: string[],
  version: RoomVersion,
  override: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const users: Record<string, number> = {};
  if (!version.privilegedCreators) {
    users[creator] = 100;
    if (preset === 'trusted_private_chat') for (const invitee of invitees) users[invitee] = 100;
  }
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': version.privilegedCreators ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: preset === 'public_chat' ? 50 : 0,
    notifications: { room: 50 },
    ...override,
  };
}

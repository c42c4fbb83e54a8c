/**
 * Request bodies of the room endpoints (create_room.yaml, inviting.yaml,
 * kicking.yaml, banning.yaml, joining.yaml, leaving.yaml, knocking.yaml,
 * redaction.yaml, room_upgrades.yaml, report_content.yaml, directory.yaml,
 * list_public_rooms.yaml).
 */
import { compileSchema } from '../validate';

const userId = { type: 'string', pattern: '^@' };
const reason = { type: 'string' };

export interface CreateRoomBody {
  visibility?: 'public' | 'private';
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: string[];
  invite_3pid?: Record<string, unknown>[];
  room_version?: string;
  creation_content?: Record<string, unknown>;
  initial_state?: { type: string; state_key?: string; content: Record<string, unknown> }[];
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';
  is_direct?: boolean;
  power_level_content_override?: Record<string, unknown>;
}

export const createRoomBody = compileSchema<CreateRoomBody>({
  type: 'object',
  properties: {
    visibility: { type: 'string', enum: ['public', 'private'] },
    room_alias_name: { type: 'string' },
    name: { type: 'string' },
    topic: { type: 'string' },
    invite: { type: 'array', items: userId },
    invite_3pid: { type: 'array', items: { type: 'object' } },
    room_version: { type: 'string' },
    creation_content: { type: 'object' },
    initial_state: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'content'],
        properties: { type: { type: 'string' }, state_key: { type: 'string' }, content: { type: 'object' } },
      },
    },
    preset: { type: 'string', enum: ['private_chat', 'public_chat', 'trusted_private_chat'] },
    is_direct: { type: 'boolean' },
    power_level_content_override: { type: 'object' },
  },
});

/** invite, kick, ban and unban: the target user and an optional reason. */
export interface TargetedMembershipBody {
  user_id: string;
  reason?: string;
}

export const targetedMembershipBody = compileSchema<TargetedMembershipBody>({
  type: 'object',
  required: ['user_id'],
  properties: { user_id: userId, reason },
});

/** join, leave, knock, forget: an optional reason (join may carry third_party_signed). */
export interface ReasonBody {
  reason?: string;
  third_party_signed?: Record<string, unknown>;
}

export const reasonBody = compileSchema<ReasonBody>({
  type: 'object',
  properties: { reason, third_party_signed: { type: 'object' } },
});

export interface UpgradeBody {
  new_version: string;
  additional_creators?: string[];
}

export const upgradeBody = compileSchema<UpgradeBody>({
  type: 'object',
  required: ['new_version'],
  properties: { new_version: { type: 'string' }, additional_creators: { type: 'array', items: userId } },
});

export interface ReportBody {
  reason?: string;
  score?: number;
}

export const reportBody = compileSchema<ReportBody>({
  type: 'object',
  properties: { reason, score: { type: 'integer', minimum: -100, maximum: 0 } },
});

/** POST /rooms/{roomId}/report and /users/{userId}/report: the reason is required (it may be blank). */
export const reasonRequiredBody = compileSchema<{ reason: string }>({
  type: 'object',
  required: ['reason'],
  properties: { reason },
});

export const aliasBody = compileSchema<{ room_id: string }>({
  type: 'object',
  required: ['room_id'],
  properties: { room_id: { type: 'string', pattern: '^!' } },
});

export const directoryVisibilityBody = compileSchema<{ visibility?: 'public' | 'private' }>({
  type: 'object',
  properties: { visibility: { type: 'string', enum: ['public', 'private'] } },
});

export interface PublicRoomsBody {
  limit?: number;
  since?: string;
  filter?: { generic_search_term?: string; room_types?: (string | null)[] };
  include_all_networks?: boolean;
  third_party_instance_id?: string;
}

export const publicRoomsBody = compileSchema<PublicRoomsBody>({
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 0 },
    since: { type: 'string' },
    filter: {
      type: 'object',
      properties: {
        generic_search_term: { type: 'string' },
        room_types: { type: 'array', items: { type: ['string', 'null'] } },
      },
    },
    include_all_networks: { type: 'boolean' },
    third_party_instance_id: { type: 'string' },
  },
});

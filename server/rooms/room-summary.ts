/**
 * A room's summary from its current state (definitions/room_summary.yaml): what
 * the published room directory lists and the space hierarchy shows of a room.
 */
import { redact } from '../../spec/redaction';
import { roomVersion } from '../../spec/room-versions';
import type { RoomSummary } from '../../spec/room-summary';
import type { RoomSummaryState, SummaryStateEvent, SummaryStateRequest } from '../../storage/room-summaries';
import { allowedRoomIds, isRestrictedJoinRule } from './restricted-join';

/** The state a summary is made from. */
export const SUMMARY_STATE: SummaryStateRequest = {
  types: [
    'm.room.create', 'm.room.name', 'm.room.topic', 'm.room.canonical_alias', 'm.room.avatar',
    'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.encryption',
  ],
};

/** A state event's content as clients see it: redacted if a redaction of it was accepted. */
export function visibleContent(event: SummaryStateEvent | undefined, version: string): Record<string, unknown> {
  if (!event) return {};
  const known = roomVersion(version);
  return event.redacted && known ? redact(event.pdu, known).content : event.pdu.content;
}

/** The room's summary. Keys left undefined are absent from the JSON. */
export function roomSummaryOf(room: RoomSummaryState): RoomSummary {
  const content = (type: string) => visibleContent(room.state.get(type), room.version);
  const version = roomVersion(room.version);
  const joinRules = content('m.room.join_rules');
  const joinRule = text(joinRules.join_rule);
  return {
    room_id: room.roomId,
    name: text(content('m.room.name').name),
    topic: plainTopic(content('m.room.topic')),
    canonical_alias: text(content('m.room.canonical_alias').alias),
    avatar_url: text(content('m.room.avatar').url),
    num_joined_members: room.joinedMembers,
    world_readable: content('m.room.history_visibility').history_visibility === 'world_readable',
    guest_can_join: content('m.room.guest_access').guest_access === 'can_join',
    join_rule: joinRule,
    room_type: text(content('m.room.create').type),
    allowed_room_ids: version && isRestrictedJoinRule(joinRule, version) ? allowedRoomIds(joinRules) : undefined,
    encryption: text(content('m.room.encryption').algorithm),
    room_version: room.version,
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The text/plain representation in `m.topic` if there is one, else `topic`. */
function plainTopic(content: Record<string, unknown>): string | undefined {
  const block = content['m.topic'];
  const representations = typeof block === 'object' && block !== null ? (block as Record<string, unknown>)['m.text'] : undefined;
  if (Array.isArray(representations)) {
    for (const r of representations) {
      if (typeof r === 'object' && r !== null && (r.mimetype ?? 'text/plain') === 'text/plain' && typeof r.body === 'string' && r.body !== '') return r.body;
    }
  }
  return typeof content.topic === 'string' && content.topic !== '' ? content.topic : undefined;
}

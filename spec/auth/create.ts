/** Auth rule 1: the m.room.create event. */
import { createEventImpliedByRoomId } from '../auth-events';
import { parseUserId } from '../identifiers';
import type { Pdu } from '../pdu';
import { creatorInCreateContent } from '../power-levels';
import { isSupportedRoomVersion, type RoomVersion } from '../room-versions';
import { deny, serverNameOf } from './context';

const RULE = 'm.room.create';

export function authorizeCreate(pdu: Pdu, version: RoomVersion): void {
  if (pdu.prev_events.length > 0) deny(RULE, 'it has prev_events');
  if (createEventImpliedByRoomId(version)) {
    if (Object.hasOwn(pdu, 'room_id')) deny(RULE, 'it has a room_id');
  } else {
    const roomServer = serverNameOf(pdu.room_id);
    if (roomServer === undefined || roomServer !== serverNameOf(pdu.sender)) {
      deny(RULE, "the room ID's domain is not the sender's");
    }
  }
  const { content } = pdu;
  if (Object.hasOwn(content, 'room_version')) {
    const roomVersion = content.room_version;
    if (typeof roomVersion !== 'string' || !isSupportedRoomVersion(roomVersion)) {
      deny(RULE, `content.room_version ${JSON.stringify(roomVersion)} is not a recognised version`);
    }
  }
  if (creatorInCreateContent(version) && !Object.hasOwn(content, 'creator')) deny(RULE, 'content has no creator');
  if (version.privilegedCreators && Object.hasOwn(content, 'additional_creators')) {
    const additional = content.additional_creators;
    if (!Array.isArray(additional) || !additional.every((id) => typeof id === 'string' && parseUserId(id) !== null)) {
      deny(RULE, 'content.additional_creators is not an array of user IDs');
    }
  }
}

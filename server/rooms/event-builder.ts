/**
 * Building a local event: the PDU a client's request turns into, with its prev
 * events (the room's forward extremities), auth events (auth events selection
 * over the current state), depth, content hash and our signature.
 */
import { randomBytes } from 'node:crypto';
import { authEventsSelection } from '../../spec/auth-events';
import { computeEventId } from '../../spec/event-hashes';
import type { EventReference, Pdu, RoomEvent, StateEvents } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import { signEvent, type SigningKeyPair } from '../../spec/signing';

/** What a client (or the server on its behalf) asks to send. */
export interface EventDraft {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  stateKey?: string;
  /** m.room.redaction: the event it redacts. */
  redacts?: string;
}

/** An event the new one builds on: a forward extremity of the room. */
export interface Parent {
  id: string;
  depth: number;
  /** Its content hash, needed to reference it in room versions 1 and 2. */
  sha256: string;
}

export interface BuildContext {
  version: RoomVersion;
  /** Undefined only for the m.room.create event of a room version 12 room. */
  roomId: string | undefined;
  serverName: string;
  signingKey: SigningKeyPair;
  nowMs: number;
  /** The room state the event is built on (empty for m.room.create). */
  state: StateEvents;
  parents: readonly Parent[];
}

/** More prev_events than this are not sent; the remaining extremities are merged by later events. */
export const MAX_PREV_EVENTS = 10;

export function buildEvent(draft: EventDraft, ctx: BuildContext): RoomEvent {
  const { version } = ctx;
  const parents = [...ctx.parents].sort((a, b) => b.depth - a.depth).slice(0, MAX_PREV_EVENTS);
  const authEvents = authEventsSelection({ ...draft, state_key: draft.stateKey }, version)
    .map((tuple) => ctx.state.get(tuple))
    .filter((event): event is RoomEvent => event !== undefined);

  const reference = (id: string, sha256: string): EventReference => (version.eventIdFormat === 'v1' ? [id, { sha256 }] : id);
  const pdu: Record<string, unknown> = {
    type: draft.type,
    sender: draft.sender,
    content: withVersionedContent(draft, version),
    origin_server_ts: ctx.nowMs,
    depth: parents.reduce((max, p) => Math.max(max, p.depth), 0) + 1,
    prev_events: parents.map((p) => reference(p.id, p.sha256)),
    auth_events: authEvents.map((e) => reference(e.id, e.pdu.hashes.sha256)),
  };
  if (ctx.roomId !== undefined) pdu.room_id = ctx.roomId;
  if (draft.stateKey !== undefined) pdu.state_key = draft.stateKey;
  if (draft.redacts !== undefined && version.eventFormat !== 'v11' && version.eventFormat !== 'v12') pdu.redacts = draft.redacts;
  if (version.eventIdFormat === 'v1') pdu.event_id = `$${randomBytes(18).toString('base64url')}:${ctx.serverName}`;

  const signed = signEvent(pdu, version, ctx.serverName, ctx.signingKey) as unknown as Pdu;
  return { id: computeEventId(signed, version), pdu: signed };
}

/** Content keys whose place depends on the room version: the create event's creator, a redaction's target. */
function withVersionedContent(draft: EventDraft, version: RoomVersion): Record<string, unknown> {
  const modern = version.eventFormat === 'v11' || version.eventFormat === 'v12';
  if (draft.type === 'm.room.create' && !modern) return { ...draft.content, creator: draft.sender };
  if (draft.redacts !== undefined && modern) return { ...draft.content, redacts: draft.redacts };
  return draft.content;
}

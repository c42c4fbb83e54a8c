/**
 * The Push Gateway API's notification (push-gateway-api.md,
 * push-gateway/push_notifier.yaml): what an HTTP pusher POSTs to
 * /_matrix/push/v1/notify about an event, or about new counts alone.
 */

export const NOTIFY_PATH = '/_matrix/push/v1/notify';

/** The one `format` the spec defines: only event ID, room ID, counts and devices. */
export const EVENT_ID_ONLY = 'event_id_only';

export interface GatewayPusher {
  app_id: string;
  pushkey: string;
  /** When the pushkey was last set, in milliseconds. */
  pushkeyTs: number;
  /** The pusher's `data` as the client set it (url included). */
  data: Record<string, unknown>;
}

export interface Counts {
  unread: number;
  missed_calls: number;
}

/** What the homeserver knows of the event it notifies about. */
export interface NotifiedEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  sender_display_name?: string;
  room_name?: string;
  room_alias?: string;
}

export interface GatewayDevice {
  app_id: string;
  pushkey: string;
  pushkey_ts: number;
  data: Record<string, unknown>;
  tweaks?: Record<string, unknown>;
}

export interface GatewayNotification {
  notification: Record<string, unknown> & { devices: GatewayDevice[] };
}

function device(pusher: GatewayPusher, tweaks?: Record<string, unknown>): GatewayDevice {
  const { url: _url, ...data } = pusher.data;
  const out: GatewayDevice = { app_id: pusher.app_id, pushkey: pusher.pushkey, pushkey_ts: Math.floor(pusher.pushkeyTs / 1000), data };
  if (tweaks) out.tweaks = tweaks;
  return out;
}

/** Counts whose value is zero are left out. */
function nonZero(counts: Counts): Partial<Counts> {
  const out: Partial<Counts> = {};
  if (counts.unread > 0) out.unread = counts.unread;
  if (counts.missed_calls > 0) out.missed_calls = counts.missed_calls;
  return out;
}

/** `high` for what should reach the user at once: encrypted events (they may be anything), highlights and sounds. */
export function priorityOf(event: { type: string }, tweaks: Record<string, unknown>): 'high' | 'low' {
  return event.type === 'm.room.encrypted' || tweaks.highlight === true || tweaks.sound !== undefined ? 'high' : 'low';
}

/** The notification about `event` for `userId`, in the pusher's format. */
export function eventNotification(
  userId: string,
  event: NotifiedEvent,
  tweaks: Record<string, unknown>,
  counts: Counts,
  pusher: GatewayPusher,
): GatewayNotification {
  const base = {
    event_id: event.event_id,
    room_id: event.room_id,
    prio: priorityOf(event, tweaks),
    counts: nonZero(counts),
    devices: [device(pusher, tweaks)],
  };
  if (pusher.data.format === EVENT_ID_ONLY) return { notification: base };
  const full: Record<string, unknown> & { devices: GatewayDevice[] } = {
    ...base,
    type: event.type,
    sender: event.sender,
    content: event.content,
  };
  if (event.sender_display_name !== undefined) full.sender_display_name = event.sender_display_name;
  if (event.room_name !== undefined) full.room_name = event.room_name;
  if (event.room_alias !== undefined) full.room_alias = event.room_alias;
  if (event.type === 'm.room.member') full.user_is_target = event.state_key === userId;
  return { notification: full };
}

/**
 * Counts alone, after a read receipt: no event, and `unread` is sent even at
 * zero, since clearing the badge is the point.
 */
export function countsNotification(counts: Counts, pusher: GatewayPusher): GatewayNotification {
  return { notification: { prio: 'low', counts: { ...nonZero(counts), unread: counts.unread }, devices: [device(pusher)] } };
}

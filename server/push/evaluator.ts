/**
 * Push rule evaluation for every event the room engine persists (an EventBus
 * `onPersist` hook: inside the event's own transaction, so unread counts never
 * lag the timeline). Each local user joined to the room but the sender (and the
 * invitee of an invite) has their rules evaluated; those notified are stored in
 * one batched insert, with the event's thread. Events from a user someone
 * ignores never notify them. Joining marks the invite's notification read,
 * leaving all of the room's.
 */
import { evaluate, type ConditionMemo, type Evaluation } from '../../spec/push/evaluate';
import type { ConditionContext, PushEvent } from '../../spec/push/conditions';
import { threadOf } from '../../spec/push/thread';
import { parseUserId } from '../../spec/identifiers';
import { ROOM_NOTIFICATION_DEFAULT } from '../../spec/power-levels';
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import type { PersistedEvent } from '../rooms/event-bus';
import type { PushRules } from './push-rules';
import type { RoomFacts, RoomFactsCache } from './room-facts';

export interface Notified {
  userId: string;
  evaluation: Evaluation;
}

export class PushEvaluator {
  constructor(
    private readonly stores: Stores,
    private readonly rules: PushRules,
    private readonly rooms: RoomFactsCache,
    private readonly serverName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Evaluates and stores who `persisted` notifies; returns them. */
  async evaluate(trx: Db, persisted: PersistedEvent): Promise<Notified[]> {
    const { event, roomId, streamOrdering } = persisted;
    const { pdu } = event;
    const facts = await this.rooms.current(roomId, trx);
    const recipients = this.recipients(pdu, facts);
    if (recipients.length === 0) return [];

    const pushEvent: PushEvent = {
      event_id: event.id,
      type: pdu.type,
      sender: pdu.sender,
      room_id: roomId,
      origin_server_ts: pdu.origin_server_ts,
      content: pdu.content,
      ...(pdu.state_key === undefined ? {} : { state_key: pdu.state_key }),
    };
    const senderPowerLevel = facts.powerLevels.user(pdu.sender);
    const notificationLevel = (key: string) => facts.powerLevels.notification(key) ?? ROOM_NOTIFICATION_DEFAULT;
    const rulesets = await this.rules.rulesets(recipients, trx);
    const memo: ConditionMemo = new Map();
    let notified: Notified[] = [];
    recipients.forEach((userId, i) => {
      const ctx: ConditionContext = {
        memberCount: facts.joined.size,
        displayName: () => facts.joined.get(userId),
        senderPowerLevel,
        notificationLevel,
      };
      const evaluation = evaluate(rulesets[i], pushEvent, ctx, memo);
      if (evaluation?.notify) notified.push({ userId, evaluation });
    });
    if (notified.length === 0) return [];

    const ignoring = await this.stores.ignoredUsers.ignoring(pdu.sender, notified.map((n) => n.userId), trx);
    if (ignoring.size > 0) notified = notified.filter((n) => !ignoring.has(n.userId));
    if (notified.length === 0) return [];

    const threadId = await threadOf(pdu.content, async (id) => (await this.stores.events.get([id], trx)).get(id)?.event.pdu.content);
    const rows = notified.map(({ userId, evaluation }) => ({ userId, highlight: evaluation.highlight, actionsJson: JSON.stringify(evaluation.actions) }));
    await this.stores.pushActions.insert(trx, { roomId, streamOrdering, threadId }, rows, this.now());
    return notified;
  }

  /**
   * Membership changes settle notifications: a local user who leaves a room
   * (or is kicked or banned) has nothing left unread there, so a later rejoin
   * starts afresh; one who joins has answered their invite.
   */
  async settleMembership(trx: Db, { event, roomId, streamOrdering }: PersistedEvent): Promise<void> {
    const { pdu } = event;
    if (pdu.type !== 'm.room.member' || pdu.state_key === undefined) return;
    if (parseUserId(pdu.state_key)?.serverName !== this.serverName) return;
    const membership = pdu.content.membership;
    if (membership === 'leave' || membership === 'ban') await this.stores.pushActions.markRead(trx, pdu.state_key, roomId, { streamOrdering }, this.now());
    else if (membership === 'join') await this.stores.pushActions.markInvitesRead(trx, pdu.state_key, roomId, this.now());
  }

  /** The local joined members but the sender, and a local invitee. */
  private recipients(pdu: PersistedEvent['event']['pdu'], facts: RoomFacts): string[] {
    const recipients = facts.localJoined.filter((id) => id !== pdu.sender);
    const invitee = pdu.type === 'm.room.member' && pdu.content.membership === 'invite' ? pdu.state_key : undefined;
    if (invitee !== undefined && invitee !== pdu.sender && parseUserId(invitee)?.serverName === this.serverName && !recipients.includes(invitee)) {
      recipients.push(invitee);
    }
    return recipients;
  }
}

/**
 * Reporting content to the server's administrators (report_content.yaml,
 * modules/report_content.md): an event its reporter is joined to and can see,
 * any room this server knows, any user.
 */
import { invalidParam, notFound } from '../../spec/errors';
import { parseUserId } from '../../spec/identifiers';
import type { Stores } from '../../storage';
import { shownToClients } from '../../storage/events';
import type { Config } from '../config/schema';
import type { Requester } from '../http/route';
import type { Visibility } from './visibility';

export class Reports {
  constructor(
    private readonly stores: Stores,
    private readonly visibility: Visibility,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {}

  /** The reporter must be joined to the room and able to see the event; 404 otherwise, whichever it is. */
  async reportEvent(requester: Requester, roomId: string, eventId: string, report: { reason?: string; score?: number }): Promise<void> {
    const stored = (await this.stores.events.get([eventId])).get(eventId);
    const reportable =
      stored !== undefined &&
      stored.roomId === roomId &&
      shownToClients(stored) &&
      (await this.stores.memberships.of(roomId, requester.userId)) === 'join' &&
      (await this.visibility.canSee(requester.userId, stored));
    if (!reportable) throw notFound('The event was not found or you are not joined to the room');
    await this.stores.reports.add({ reporter: requester.userId, roomId, eventId, ...report }, this.now());
  }

  /** Anyone may report a room, joined or not (v1.13). */
  async reportRoom(requester: Requester, roomId: string, reason: string): Promise<void> {
    if (!(await this.stores.rooms.get(roomId))) throw notFound('The room was not found');
    await this.stores.reports.add({ reporter: requester.userId, roomId, reason }, this.now());
  }

  /** Anyone may report a user (v1.14): one of this server's that exists, or one of another server. */
  async reportUser(requester: Requester, userId: string, reason: string): Promise<void> {
    const parsed = parseUserId(userId);
    if (!parsed) throw invalidParam(`'${userId}' is not a valid user ID`);
    if (parsed.serverName === this.config.server_name && !(await this.stores.users.exists(userId))) throw notFound('The user was not found');
    await this.stores.reports.add({ reporter: requester.userId, userId, reason }, this.now());
  }
}

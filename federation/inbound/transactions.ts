/**
 * Transactions other servers push to us (PUT /_matrix/federation/v1/send/{txnId}):
 * each PDU goes to the room engine's RemoteEvents, per room and parents first;
 * each EDU to the handler registered for its type. A transaction is handled
 * once per origin and txnId: a retry while it runs, or after, gets the same answer.
 */
import { computeEventId } from '../../spec/event-hashes';
import { badJson } from '../../spec/errors';
import { roomVersion } from '../../spec/room-versions';
import type { Pdu } from '../../spec/pdu';
import type { Edu, TransactionBody } from '../../spec/schemas/federation';
import type { Logger } from '../../server/log';
import type { Services } from '../../server/services';
import { aclAllows } from '../reads/server-access';

/** What an EDU handler gets: the EDU's content and the server that sent it. */
export type EduHandler = (origin: string, content: Record<string, unknown>) => Promise<void>;

export interface TransactionResult {
  pdus: Record<string, { error?: string }>;
}

/** Answers kept for retries of the same transaction. */
const REMEMBERED = 10_000;

export class TransactionReceiver {
  private readonly answers = new Map<string, Promise<TransactionResult>>();
  private readonly eduHandlers = new Map<string, EduHandler>();

  constructor(
    private readonly services: Services,
    private readonly log: Logger,
  ) {}

  /** Registers the handler of one EDU type; EDUs of types without one are ignored, as the spec allows. */
  onEdu(type: string, handler: EduHandler): void {
    this.eduHandlers.set(type, handler);
  }

  receive(origin: string, txnId: string, body: TransactionBody): Promise<TransactionResult> {
    if (body.origin !== origin) throw badJson("The transaction's origin is not the server that signed the request");
    const key = `${origin}\u0000${txnId}`;
    const known = this.answers.get(key);
    if (known) return known;
    const answer = this.handle(origin, body);
    this.answers.set(key, answer);
    answer.catch(() => this.answers.delete(key));
    if (this.answers.size > REMEMBERED) this.answers.delete(this.answers.keys().next().value!);
    return answer;
  }

  private async handle(origin: string, body: TransactionBody): Promise<TransactionResult> {
    const [pdus] = await Promise.all([this.handlePdus(origin, body.pdus), this.handleEdus(origin, body.edus ?? [])]);
    return { pdus };
  }

  private async handlePdus(origin: string, pdus: readonly Record<string, unknown>[]): Promise<TransactionResult['pdus']> {
    const byRoom = new Map<string, Record<string, unknown>[]>();
    for (const pdu of pdus) {
      const roomId = typeof pdu.room_id === 'string' ? pdu.room_id : '';
      const list = byRoom.get(roomId);
      if (list) list.push(pdu);
      else byRoom.set(roomId, [pdu]);
    }
    const results: TransactionResult['pdus'] = {};
    await Promise.all(
      [...byRoom].map(async ([roomId, roomPdus]) => {
        const version = roomVersion((await this.services.stores.rooms.get(roomId))?.version ?? '');
        const idOf = (pdu: Record<string, unknown>) => (version ? eventIdOf(pdu, version) : undefined) ?? String(pdu.event_id ?? '');
        const refuseAll = (error: string) => {
          for (const pdu of roomPdus) results[idOf(pdu)] = { error };
        };
        // A room we know only from an invite, or have left, is not ours to follow.
        if (!version || !(await this.services.rooms.isResident(roomId))) return refuseAll('This server is not in the room');
        if (!(await aclAllows(this.services.stores, roomId, origin))) return refuseAll(`Server ${origin} is denied by the room's server ACL`);
        const outcomes = await this.services.remoteEvents.receiveBatch(origin, roomId, roomPdus);
        outcomes.forEach((outcome, i) => {
          const eventId = outcome.eventId ?? idOf(roomPdus[i]);
          results[eventId] = outcome.status === 'accepted' || outcome.status === 'soft_failed' ? {} : { error: outcome.reason ?? outcome.status };
        });
      }),
    );
    return results;
  }

  private async handleEdus(origin: string, edus: readonly Edu[]): Promise<void> {
    for (const edu of edus) {
      const handler = this.eduHandlers.get(edu.edu_type);
      if (!handler) continue;
      try {
        await handler(origin, edu.content);
      } catch (err) {
        this.log.warn({ err, origin, eduType: edu.edu_type }, 'could not handle an EDU');
      }
    }
  }
}

/** The event ID a PDU has in a room of `version`, if it is well-formed enough to have one. */
function eventIdOf(pdu: Record<string, unknown>, version: NonNullable<ReturnType<typeof roomVersion>>): string | undefined {
  try {
    return computeEventId(pdu as unknown as Pdu, version);
  } catch {
    return undefined;
  }
}

/**
 * What the sender hands to the network: one transaction to one server
 * (server-server-api.md, "Transactions"; PUT /_matrix/federation/v1/send/{txnId}).
 * The signed HTTP client in federation/client/ implements it; tests use fakes.
 */
import type { Pdu } from '../../spec/pdu';
import type { Edu } from '../../storage/federation-outbox';

export type { Edu };

/** The body of PUT /send/{txnId}. */
export interface Transaction {
  origin: string;
  /** When the transaction was first attempted; the same on every retry. */
  origin_server_ts: number;
  /** At most MAX_PDUS. */
  pdus: Pdu[];
  /** At most MAX_EDUS. */
  edus: Edu[];
}

/** The 200 response: per PDU (by event ID), an error if the receiver did not accept it. */
export interface TransactionResult {
  pdus: Record<string, { error?: string }>;
}

export interface TransactionTransport {
  /**
   * Resolves with the receiver's 200 response; rejects on anything else (no
   * answer, another status, a malformed body): the transaction is then retried
   * later with the same ID and body. `signal` aborts when the sender gives up
   * waiting (its stop, or the request timeout).
   */
  sendTransaction(destination: string, txnId: string, body: Transaction, options: { signal: AbortSignal }): Promise<TransactionResult>;
}

/** Limits on one transaction's contents (server-server-api.md, "Transactions"). */
export const MAX_PDUS = 50;
export const MAX_EDUS = 100;

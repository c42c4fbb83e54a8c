/**
 * Registration tokens (m.login.registration_token). A token is valid while it has
 * not expired and `pending + completed` is below `uses_allowed` (null: unlimited).
 * `pending` counts UIA sessions that passed the token stage but have not yet
 * registered; `completed`, registrations made with the token.
 */
import type { Knex } from 'knex';
import type { Db } from './db';

export interface RegistrationTokenRow {
  token: string;
  usesAllowed: number | null;
  pending: number;
  completed: number;
  expiryTs: number | null;
}

interface Raw {
  token: string;
  uses_allowed: number | null;
  pending: number;
  completed: number;
  expiry_ts: number | string | null;
}

const fromRaw = (r: Raw): RegistrationTokenRow => ({
  token: r.token,
  usesAllowed: r.uses_allowed === null ? null : Number(r.uses_allowed),
  pending: Number(r.pending),
  completed: Number(r.completed),
  expiryTs: r.expiry_ts === null ? null : Number(r.expiry_ts),
});

/** Restricts a query to the tokens still usable at `nowMs`. */
function usable(query: Knex.QueryBuilder, nowMs: number): Knex.QueryBuilder {
  return query
    .where((q) => q.whereNull('uses_allowed').orWhereRaw('pending + completed < uses_allowed'))
    .andWhere((q) => q.whereNull('expiry_ts').orWhere('expiry_ts', '>', nowMs));
}

export class RegistrationTokenStore {
  constructor(private readonly db: Db) {}

  async insert(
    token: { token: string; usesAllowed?: number | null; expiryTs?: number | null },
    trx: Db = this.db,
  ): Promise<void> {
    await trx('registration_tokens').insert({
      token: token.token,
      uses_allowed: token.usesAllowed ?? null,
      pending: 0,
      completed: 0,
      expiry_ts: token.expiryTs ?? null,
    });
  }

  async get(token: string): Promise<RegistrationTokenRow | undefined> {
    const row = await this.db<Raw>('registration_tokens').where({ token }).first();
    return row && fromRaw(row);
  }

  async isValid(token: string, nowMs: number): Promise<boolean> {
    return (await usable(this.db('registration_tokens').where({ token }), nowMs).first('token')) !== undefined;
  }

  /** Takes one pending use of the token if it is still valid; returns whether it did. */
  async reserve(token: string, nowMs: number, trx: Db = this.db): Promise<boolean> {
    return (await usable(trx('registration_tokens').where({ token }), nowMs).increment('pending', 1)) > 0;
  }

  /** Gives back a pending use that did not lead to a registration. */
  async release(token: string, trx: Db = this.db): Promise<void> {
    await trx('registration_tokens').where({ token }).andWhere('pending', '>', 0).decrement('pending', 1);
  }

  /** Turns a pending use into a completed one. */
  async consume(token: string, trx: Db = this.db): Promise<void> {
    await trx('registration_tokens')
      .where({ token })
      .update({
        pending: trx.raw('case when pending > 0 then pending - 1 else 0 end'),
        completed: trx.raw('completed + 1'),
      });
  }
}

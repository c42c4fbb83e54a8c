/**
 * Account data (account_data module): per-user entries, global or per room,
 * that /sync delivers on every write. Types the server manages (m.push_rules)
 * are read through providers their owning module registers; the routes keep
 * clients from writing them.
 */
import type { Stores } from '../../storage';
import type { Db } from '../../storage/db';
import { whenSettled } from '../../storage/transactions';
import { userKey, type Notifier } from '../sync/notifier';

/** Produces the content of a server-managed type for a user (undefined: none). */
export type AccountDataProvider = (userId: string, roomId: string | null) => Promise<Record<string, unknown> | undefined>;

export class AccountData {
  private readonly providers = new Map<string, AccountDataProvider>();

  constructor(
    private readonly stores: Stores,
    private readonly notifier: Notifier,
  ) {}

  /** Serves reads of `type` from `provider` instead of the stored entries. */
  provide(type: string, provider: AccountDataProvider): void {
    this.providers.set(type, provider);
  }

  async get(userId: string, roomId: string | null, type: string): Promise<Record<string, unknown> | undefined> {
    const provider = this.providers.get(type);
    return provider ? provider(userId, roomId) : this.stores.accountData.get(userId, roomId, type);
  }

  /**
   * Sets an entry and wakes the user's syncs. Inside a transaction (`trx`), the
   * wake-up waits for its commit.
   */
  async put(userId: string, roomId: string | null, type: string, content: Record<string, unknown>, trx?: Db): Promise<void> {
    const db = trx ?? this.stores.db;
    await this.stores.accountData.put(userId, roomId, type, content, db);
    whenSettled(db, () => void this.stores.accountData.positions.caughtUp().then(() => this.notifier.notify([userKey(userId)])));
  }
}

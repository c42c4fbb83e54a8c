/** Every store over a fresh, migrated database (SQLite, or PostgreSQL when WEFT_TEST_POSTGRES_URL is set). */
import { migrate, openDb } from '../../storage/db';
import { createStores, type Stores } from '../../storage';
import { freshDatabase } from './server';

export interface TestStores extends Stores {
  close(): Promise<void>;
}

export async function openStores(): Promise<TestStores> {
  const database = freshDatabase();
  const db = await openDb({ url: database.url });
  await migrate(db);
  return {
    ...createStores(db),
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

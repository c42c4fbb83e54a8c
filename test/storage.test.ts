/** Opening the database and migrating it, on SQLite and PostgreSQL alike. */
import assert from 'node:assert/strict';
import pino from 'pino';
import { createHomeserver } from '../server/homeserver';
import { isPostgres, migrate, openDb, SchemaTooNewError } from '../storage/db';
import { migrations } from '../migrations';
import { freshDatabase, testConfig } from './helpers/server';

describe('storage', () => {
  it('applies every migration once, then nothing', async () => {
    const database = freshDatabase();
    const db = await openDb({ url: database.url });
    try {
      assert.deepEqual(await migrate(db), migrations.map((m) => m.name));
      assert.deepEqual(await migrate(db), []);
    } finally {
      await db.destroy();
      await database.drop();
    }
  });

  it('refuses to start on a schema newer than the code, saying so', async () => {
    const database = freshDatabase();
    const db = await openDb({ url: database.url });
    try {
      await migrate(db);
      await db('schema_migrations').insert({ name: '9999_from_the_future', batch: 99, migration_time: new Date() });
      await assert.rejects(migrate(db), (err: Error) => err instanceof SchemaTooNewError && /newer/.test(err.message) && /9999_from_the_future/.test(err.message));
      await assert.rejects(
        createHomeserver(testConfig(database.url), { log: pino({ level: 'silent' }) }),
        SchemaTooNewError,
      );
    } finally {
      await db.destroy();
      await database.drop();
    }
  });

  it('runs SQLite in WAL mode with foreign keys enforced', async function () {
    const database = freshDatabase();
    if (isPostgres(database.url)) this.skip();
    const db = await openDb({ url: database.url, sqliteBusyTimeoutMs: 1234 });
    try {
      const [journal] = await db.raw('pragma journal_mode');
      assert.equal(journal.journal_mode, 'wal');
      const [fk] = await db.raw('pragma foreign_keys');
      assert.equal(fk.foreign_keys, 1);
      const [timeout] = await db.raw('pragma busy_timeout');
      assert.equal(Object.values(timeout)[0], 1234);
    } finally {
      await db.destroy();
      await database.drop();
    }
  });

  it('enforces foreign keys: a device needs its user', async () => {
    const database = freshDatabase();
    const db = await openDb({ url: database.url });
    try {
      await migrate(db);
      await assert.rejects(db('devices').insert({ user_id: '@ghost:localhost', device_id: 'X', created_ts: 0 }));
    } finally {
      await db.destroy();
      await database.drop();
    }
  });
});

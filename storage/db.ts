/**
 * Opens the database (SQLite through better-sqlite3, or PostgreSQL) and brings its
 * schema up to date. Everything else in storage/ takes the resulting `Db`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { migrations } from '../migrations';

export type Db = Knex;

// int8 (bigint) columns hold millisecond timestamps and stream positions: all fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface DbOptions {
  url: string;
  sqliteBusyTimeoutMs?: number;
}

export class SchemaTooNewError extends Error {}

export function isPostgres(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * `sqlite:PATH` (or `sqlite::memory:`) or `postgres://user@host:port/db`. A PostgreSQL
 * URL may name a schema with `?schema=NAME`; it is created if missing.
 */
export async function openDb(options: DbOptions): Promise<Db> {
  const db = isPostgres(options.url) ? await openPostgres(options.url) : openSqlite(options);
  await db.raw('select 1');
  return db;
}

function openSqlite({ url, sqliteBusyTimeoutMs = 5000 }: DbOptions): Db {
  const filename = url.replace(/^sqlite:/, '');
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  return knex({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('foreign_keys = ON');
        conn.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
        done(null, conn);
      },
    },
  });
}

async function openPostgres(url: string): Promise<Db> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  const connectionString = parsed.toString();
  if (schema) {
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}"`);
    const admin = knex({ client: 'pg', connection: connectionString, pool: { min: 0, max: 1 } });
    try {
      await admin.raw(`create schema if not exists ${schema}`);
    } finally {
      await admin.destroy();
    }
  }
  return knex({
    client: 'pg',
    connection: connectionString,
    searchPath: schema ? [schema] : undefined,
    pool: { min: 0, max: 10 },
  });
}

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map((m) => m.name),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations.find((m) => m.name === name)!,
};

const migrationConfig = { migrationSource, tableName: 'schema_migrations' };

/**
 * Applies pending migrations. Refuses a database that has migrations this code does
 * not know, i.e. one written by a newer Weft.
 */
export async function migrate(db: Db): Promise<string[]> {
  if (await db.schema.hasTable(migrationConfig.tableName)) {
    const applied: string[] = (await db(migrationConfig.tableName).select('name')).map((r: { name: string }) => r.name);
    const known = new Set(migrations.map((m) => m.name));
    const unknown = applied.filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new SchemaTooNewError(
        `the database schema is newer than this version of Weft understands (unknown migrations: ${unknown.join(', ')}); ` +
          'run a newer Weft or restore a backup',
      );
    }
  }
  const [, applied] = (await db.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}

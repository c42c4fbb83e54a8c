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

interface SqliteConnection {
  prepare(sql: string): unknown;
}

/** The part of knex's better-sqlite3 client (which knex does not type) that runs a statement. */
interface KnexSqliteClient extends Knex.Client {
  _query(connection: SqliteConnection, query: { sql: string }): Promise<unknown>;
}

const KnexSqlite = require('knex/lib/dialects/better-sqlite3') as new (config: Knex.Config) => KnexSqliteClient;

/** Statements kept prepared per SQLite connection. */
const PREPARED_STATEMENTS = 1000;
/** Outside the client: knex makes a transaction's client from the prototype, without its fields. */
const preparedStatements = new WeakMap<SqliteConnection, Map<string, unknown>>();

/**
 * knex's better-sqlite3 client, but keeping prepared statements: knex prepares
 * every statement anew, which costs as much as running most of Weft's queries.
 * SQLite re-prepares a kept statement by itself if the schema changes.
 */
class SqliteClient extends KnexSqlite {
  override _query(connection: SqliteConnection, query: { sql: string }): Promise<unknown> {
    let statements = preparedStatements.get(connection);
    if (!statements) preparedStatements.set(connection, (statements = new Map()));
    let statement = statements.get(query.sql);
    if (statement === undefined) {
      statement = connection.prepare(query.sql);
      statements.set(query.sql, statement);
      if (statements.size > PREPARED_STATEMENTS) statements.delete(statements.keys().next().value!);
    }
    const kept = statement;
    return super._query({ prepare: () => kept }, query);
  }
}

function openSqlite({ url, sqliteBusyTimeoutMs = 5000 }: DbOptions): Db {
  const filename = url.replace(/^sqlite:/, '');
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  return knex({
    client: SqliteClient as unknown as typeof Knex.Client,
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

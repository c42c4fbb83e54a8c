/** `weft migrate`: bring the database schema up to date without starting the server. */
import type { Command } from 'commander';
import { migrate, openDb } from '../../storage/db';
import { configOption, readConfig } from './config-file';

export function defineMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations and list them (weft start also does this)')
    .addOption(configOption())
    .action(async (options: { config?: string }) => {
      const config = readConfig(options.config);
      const db = await openDb({ url: config.database.url, sqliteBusyTimeoutMs: config.database.sqlite_busy_timeout_ms });
      try {
        const applied = await migrate(db);
        for (const name of applied) process.stdout.write(`weft: applied migration ${name}\n`);
        if (applied.length === 0) process.stdout.write('weft: database schema is up to date\n');
      } finally {
        await db.destroy();
      }
    });
}

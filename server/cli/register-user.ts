/** `weft register-user`: create an account directly in the database, whatever the registration mode. */
import type { Command } from 'commander';
import pino from 'pino';
import { parseUserId } from '../../spec/identifiers';
import { createHomeserver } from '../homeserver';
import { configOption, readConfig } from './config-file';
import { CliError } from './failure';
import { readPassword } from './password-input';

interface Options {
  config?: string;
  admin?: boolean;
  passwordFile?: string;
}

export function defineRegisterUser(program: Command): void {
  program
    .command('register-user')
    .description('create a user account; the password comes from --password-file, a prompt, or piped stdin')
    .argument('<localpart>', 'the new user\'s name, e.g. alice for @alice:SERVER_NAME (a full user ID on this server works too)')
    .addOption(configOption())
    .option('--admin', 'make the user a server administrator')
    .option('--password-file <file>', 'read the password from the first line of this file')
    .action(async (name: string, options: Options) => {
      const config = readConfig(options.config);
      const localpart = localpartOf(name, config.server_name);
      const password = await readPassword(options.passwordFile);
      const hs = await createHomeserver(config, { log: pino({ level: 'warn' }, pino.destination(2)) });
      try {
        const userId = await hs.services.accounts.create({ localpart, password, admin: options.admin ?? false });
        process.stdout.write(`${userId}\n`);
      } finally {
        await hs.stop();
      }
    });
}

function localpartOf(name: string, serverName: string): string {
  if (!name.startsWith('@')) return name;
  const parsed = parseUserId(name);
  if (!parsed || parsed.serverName !== serverName) {
    throw new CliError(`${name} is not a user ID on this server (${serverName}); give just the localpart`);
  }
  return parsed.localpart;
}

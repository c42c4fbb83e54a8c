/** `weft generate-config`: write a new, complete config file with a fresh signing key and secret. */
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { isValidServerName } from '../../spec/identifiers';
import { generateConfig } from '../config/generate';
import type { RegistrationMode } from '../config/schema';
import { CliError } from './failure';

interface Options {
  serverName: string;
  output?: string;
  dataDir: string;
  registration: RegistrationMode;
  force?: boolean;
}

export function defineGenerateConfig(program: Command): void {
  program
    .command('generate-config')
    .description('write a new configuration file with a fresh signing key and registration secret')
    .requiredOption('--server-name <name>', 'domain of the user IDs, e.g. example.com or example.com:8448')
    .option('-o, --output <file>', 'file to write (default: print to stdout)')
    .option('--data-dir <dir>', 'folder for the SQLite database', './data')
    .addOption(
      new Option('--registration <mode>', 'who may register through the client API')
        .choices(['open', 'closed', 'token'])
        .default('closed'),
    )
    .option('--force', 'overwrite the output file if it exists')
    .action((options: Options) => {
      if (!isValidServerName(options.serverName)) {
        throw new CliError(`"${options.serverName}" is not a valid server name (expected a host name or IP address, optionally with :port)`);
      }
      const yaml = generateConfig({ serverName: options.serverName, dataDir: options.dataDir, registration: options.registration });
      if (options.output === undefined) {
        process.stdout.write(yaml);
        return;
      }
      try {
        writeFileSync(options.output, yaml, { flag: options.force ? 'w' : 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new CliError(`${options.output} already exists; pass --force to overwrite it`);
        }
        throw err;
      }
      process.stdout.write(`weft: wrote ${options.output} for ${options.serverName}; start the server with weft start -c ${options.output}\n`);
    });
}

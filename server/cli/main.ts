/** The `weft` command line: parses arguments and runs one command, returning its exit code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { defineCreateRegistrationToken } from './create-registration-token';
import { reportFailure } from './failure';
import { defineGenerateConfig } from './generate-config';
import { defineMigrate } from './migrate';
import { defineRegisterUser } from './register-user';
import { defineRotateSigningKey } from './rotate-signing-key';
import { defineStart } from './start';

const commands = [defineStart, defineGenerateConfig, defineMigrate, defineRegisterUser, defineCreateRegistrationToken, defineRotateSigningKey];

export function buildProgram(): Command {
  const program = new Command('weft')
    .description('Weft, a Matrix homeserver')
    .version(packageVersion(), '-V, --version')
    // Return an exit code from main() instead of calling process.exit.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  for (const define of commands) define(program);
  return program;
}

/** Runs the command named in `argv` (the arguments after `weft`); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return reportFailure(err);
  }
}

function packageVersion(): string {
  const file = join(__dirname, '..', '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

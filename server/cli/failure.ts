/** Turning what went wrong into a message for the terminal and an exit code. */
import { CommanderError } from 'commander';
import { MatrixError } from '../../spec/errors';
import { SchemaTooNewError } from '../../storage/db';
import { ConfigError } from '../config/load';

/** A failure whose message is all the user needs (no stack trace). */
export class CliError extends Error {}

const expected = [CliError, ConfigError, SchemaTooNewError];

/** Prints the failure to stderr and returns the exit code. */
export function reportFailure(err: unknown): number {
  // commander has already printed its own message (or the help it was asked for).
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof MatrixError) {
    process.stderr.write(`weft: ${err.errcode}: ${err.message}\n`);
  } else if (expected.some((type) => err instanceof type) || isSystemError(err)) {
    process.stderr.write(`weft: ${(err as Error).message}\n`);
  } else {
    process.stderr.write(`weft: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  return 1;
}

/** Errors from the operating system (a port in use, a file not found, a refused connection). */
function isSystemError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return err instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** `weft create-registration-token`: a token for registration mode `token` (m.login.registration_token). */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import pino from 'pino';
import { createHomeserver } from '../homeserver';
import { configOption, readConfig } from './config-file';

interface Options {
  config?: string;
  uses?: number;
  expiresInHours?: number;
  token?: string;
}

/** The spec's grammar for registration tokens. */
const TOKEN_RE = /^[A-Za-z0-9._~-]{1,64}$/;

const positive = (what: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0) || (what === 'uses' && !Number.isInteger(n))) throw new InvalidArgumentError(`${what} must be a positive ${what === 'uses' ? 'integer' : 'number'}`);
  return n;
};

export function defineCreateRegistrationToken(program: Command): void {
  program
    .command('create-registration-token')
    .description('create a registration token and print it (for registration mode "token")')
    .addOption(configOption())
    .option('--uses <n>', 'how many registrations it allows (default: unlimited)', positive('uses'))
    .option('--expires-in-hours <h>', 'how long it stays valid (default: forever)', positive('hours'))
    .option('--token <token>', 'the token itself (default: 16 random characters)', (value: string) => {
      if (!TOKEN_RE.test(value)) throw new InvalidArgumentError('a token is 1-64 characters of A-Z a-z 0-9 . _ ~ -');
      return value;
    })
    .action(async (options: Options) => {
      const config = readConfig(options.config);
      const token = options.token ?? randomBytes(12).toString('base64url');
      const hs = await createHomeserver(config, { log: pino({ level: 'warn' }, pino.destination(2)) });
      try {
        await hs.services.stores.registrationTokens.insert({
          token,
          usesAllowed: options.uses ?? null,
          expiryTs: options.expiresInHours === undefined ? null : Date.now() + options.expiresInHours * 3_600_000,
        });
        process.stdout.write(`${token}\n`);
      } finally {
        await hs.stop();
      }
    });
}

/** Reading a password from a file, a terminal prompt with hidden input, or piped stdin. */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { CliError } from './failure';

/** The first line of the text: a trailing newline is not part of a password. */
const firstLine = (text: string) => text.split(/\r?\n/, 1)[0];

export async function readPassword(passwordFile: string | undefined): Promise<string> {
  let password: string;
  if (passwordFile !== undefined) {
    try {
      password = firstLine(readFileSync(passwordFile, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read password file: ${(err as Error).message}`);
    }
  } else if (process.stdin.isTTY) {
    password = await promptHidden('Password: ');
    if ((await promptHidden('Confirm password: ')) !== password) throw new CliError('the passwords do not match');
  } else {
    password = firstLine(await readAll(process.stdin));
  }
  if (password === '') throw new CliError('no password given (use --password-file FILE, or type it at the prompt)');
  return password;
}

/** Asks on stderr and reads a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, encoding, done) {
      if (!muted) process.stderr.write(chunk, encoding);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = rl.question(question);
    muted = true;
    return await answer;
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

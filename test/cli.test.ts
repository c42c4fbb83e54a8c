import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { generateConfig } from '../server/config/generate';
import { loadConfigFile } from '../server/config/load';
import { createStores } from '../storage';
import { migrate, openDb } from '../storage/db';
import { freshDatabase, request, type TestDatabase } from './helpers/server';

const WEFT = join(__dirname, '..', '..', 'bin', 'weft.js');

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
}

/** The environment for a child: ours without WEFT_* settings (a developer's shell may set some), plus `extra`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEFT_') || k.startsWith('WEFT_TEST_')));
  return { ...env, ...extra };
}

function spawnWeft(args: string[], options: RunOptions = {}): { child: ChildProcess; done: Promise<Outcome> } {
  const child = spawn(process.execPath, [WEFT, ...args], { cwd: options.cwd ?? tmpdir(), env: childEnv(options.env) });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdin!.end(options.input ?? '');
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

const weft = (args: string[], options?: RunOptions) => spawnWeft(args, options).done;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  done: Promise<Outcome>;
}

/**
 * Runs `weft start` on a free port and resolves once it prints the address it
 * listens on. Another process may take the port between our check and the child's
 * bind, so that case is retried on a new port.
 */
async function startWeft(configFile: string, env: Record<string, string>, attempts = 3): Promise<Running> {
  const port = await freePort();
  const { child, done } = spawnWeft(['start', '-c', configFile], { env: { ...env, WEFT_BIND: `127.0.0.1:${port}` } });
  let stdout = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const started = await new Promise<string | Outcome>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /^weft: listening on (\S+) \(client, federation\)$/m.exec(stdout);
      if (match) resolve(match[1]);
    });
    done.then(resolve, reject);
  });
  if (typeof started !== 'string') {
    if (attempts > 1 && /EADDRINUSE/.test(started.stderr)) return startWeft(configFile, env, attempts - 1);
    throw new Error(`weft start exited early (${started.code}): ${started.stderr}`);
  }
  assert.equal(started, `http://127.0.0.1:${port}`);
  return { child, url: started, stdout: () => stdout, done };
}

describe('weft CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('arguments', () => {
    for (const command of ['start', 'generate-config', 'migrate', 'register-user', 'create-registration-token']) {
      it(`${command} --help describes the command`, async () => {
        const { code, stdout } = await weft([command, '--help']);
        assert.equal(code, 0);
        assert.match(stdout, new RegExp(`^Usage: weft ${command} `));
        assert.match(stdout, /--help/);
      });
    }

    it('--help lists every command', async () => {
      const { code, stdout } = await weft(['--help']);
      assert.equal(code, 0);
      for (const command of ['start', 'generate-config', 'migrate', 'register-user', 'create-registration-token']) assert.match(stdout, new RegExp(`\\b${command}\\b`));
    });

    const bad: [string, string[], RegExp][] = [
      ['no command', [], /Usage: weft/],
      ['an unknown command', ['serve'], /unknown command 'serve'/],
      ['an unknown option', ['migrate', '--verbose'], /unknown option '--verbose'/],
      ['generate-config without --server-name', ['generate-config'], /--server-name/],
      ['an invalid server name', ['generate-config', '--server-name', 'not valid'], /"not valid" is not a valid server name/],
      ['an unknown registration mode', ['generate-config', '--server-name', 'localhost', '--registration', 'maybe'], /open, closed, token/],
      ['register-user without a localpart', ['register-user'], /missing required argument 'localpart'/],
      ['too many arguments', ['register-user', 'alice', 'bob'], /too many arguments/],
    ];
    for (const [what, args, message] of bad) {
      it(`exits non-zero with a message on ${what}`, async () => {
        const { code, stderr } = await weft(args, { cwd: dir });
        assert.notEqual(code, 0);
        assert.match(stderr, message);
      });
    }

    it('says how to get a config file when there is none', async () => {
      const { code, stderr } = await weft(['start'], { cwd: dir });
      assert.equal(code, 1);
      assert.match(stderr, /no configuration file: pass -c FILE, set WEFT_CONFIG/);
    });

    it('prints a config error and exits 1', async () => {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, generateConfig({ serverName: 'localhost' }).replace('log_level:', 'colour: blue\nlog_level:'));
      const { code, stderr } = await weft(['start', '-c', file]);
      assert.equal(code, 1);
      assert.match(stderr, /unknown key "colour"/);
      const missing = await weft(['migrate'], { env: { WEFT_CONFIG: join(dir, 'missing.yaml') } });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read config file .*missing\.yaml/);
    });
  });

  describe('generate-config', () => {
    it('writes a config that loads, with the options given', async () => {
      const file = join(dir, 'config.yaml');
      const { code, stdout } = await weft(['generate-config', '--server-name', '127.0.0.1:8448', '-o', file, '--data-dir', '/srv/weft', '--registration', 'token']);
      assert.equal(code, 0);
      assert.match(stdout, /wrote .*config\.yaml/);
      const config = loadConfigFile(file, {});
      assert.equal(config.server_name, '127.0.0.1:8448');
      assert.equal(config.database.url, 'sqlite:/srv/weft/weft.db');
      assert.equal(config.registration.mode, 'token');
      assert.equal(Buffer.from(config.registration.shared_secret!, 'base64url').length, 32);
      assert.deepEqual(config.listeners, [{ bind_address: '127.0.0.1', port: 8008, resources: ['client', 'federation'] }]);
      assert.equal(statSync(file).mode & 0o077, 0, 'the file holds secrets: only its owner may read it');
    });

    it('prints to stdout without -o, with a fresh key each time', async () => {
      const first = await weft(['generate-config', '--server-name', 'example.org']);
      const second = await weft(['generate-config', '--server-name', 'example.org']);
      assert.equal(first.code, 0);
      const a = YAML.parse(first.stdout);
      assert.equal(a.server_name, 'example.org');
      assert.equal(a.database.url, 'sqlite:./data/weft.db');
      assert.equal(a.registration.mode, 'closed');
      assert.notEqual(a.signing_key, YAML.parse(second.stdout).signing_key);
    });

    it('refuses to overwrite a file unless --force', async () => {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, 'precious: true\n');
      const refused = await weft(['generate-config', '--server-name', 'localhost', '-o', file]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /already exists; pass --force/);
      assert.equal(readFileSync(file, 'utf8'), 'precious: true\n');
      const forced = await weft(['generate-config', '--server-name', 'localhost', '-o', file, '--force']);
      assert.equal(forced.code, 0);
      assert.equal(loadConfigFile(file, {}).server_name, 'localhost');
    });
  });

  describe('on a database', () => {
    let database: TestDatabase;
    let configFile: string;
    let env: Record<string, string>;
    let running: Running | undefined;

    beforeEach(() => {
      database = freshDatabase();
      configFile = join(dir, 'config.yaml');
      writeFileSync(configFile, generateConfig({ serverName: 'localhost', dataDir: join(dir, 'data') }));
      env = { WEFT_DATABASE_URL: database.url, WEFT_LOG_LEVEL: 'warn' };
    });
    afterEach(async () => {
      running?.child.kill('SIGKILL');
      await running?.done;
      running = undefined;
      await database.drop();
    });

    it('migrate applies the migrations once, then reports the schema up to date', async () => {
      const first = await weft(['migrate', '-c', configFile], { env });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /applied migration 0001_accounts/);
      const second = await weft(['migrate', '-c', configFile], { env });
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /up to date/);
      assert.doesNotMatch(second.stdout, /applied migration/);
    });

    it('register-user creates a user who can then log in over HTTP', async () => {
      const passwordFile = join(dir, 'password');
      writeFileSync(passwordFile, 'correct horse battery\n');
      const created = await weft(['register-user', 'alice', '-c', configFile, '--password-file', passwordFile], { env });
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout, '@alice:localhost\n');

      running = await startWeft(configFile, env);
      const login = await request(running.url, 'POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'correct horse battery' },
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      assert.equal(login.body.user_id, '@alice:localhost');
      const wrong = await request(running.url, 'POST', '/_matrix/client/v3/login', {
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'correct horse battery\n' },
      });
      assert.equal(wrong.status, 403, 'the newline ending the file is not part of the password');
    });

    it('register-user reads the password from piped stdin and makes admins with --admin', async () => {
      const created = await weft(['register-user', '@root:localhost', '--admin'], { env: { ...env, WEFT_CONFIG: configFile }, input: 'hunter2\n' });
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout, '@root:localhost\n');
      const plain = await weft(['register-user', 'bob', '-c', configFile], { env, input: 'hunter3' });
      assert.equal(plain.code, 0, plain.stderr);

      const db = await openDb({ url: database.url });
      try {
        const users = createStores(db).users;
        assert.equal((await users.get('@root:localhost'))?.isAdmin, true);
        assert.equal((await users.get('@bob:localhost'))?.isAdmin, false);
      } finally {
        await db.destroy();
      }
    });

    it('create-registration-token makes a token that registration mode "token" accepts, as many times as allowed', async () => {
      writeFileSync(configFile, generateConfig({ serverName: 'localhost', dataDir: join(dir, 'data'), registration: 'token' }));
      const created = await weft(['create-registration-token', '-c', configFile, '--uses', '1'], { env });
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim();
      assert.match(token, /^[A-Za-z0-9._~-]{16}$/);

      running = await startWeft(configFile, env);
      const validity = (t: string) =>
        request(running!.url, 'GET', `/_matrix/client/v1/register/m.login.registration_token/validity?token=${t}`);
      assert.deepEqual((await validity(token)).body, { valid: true });
      const register = (username: string) =>
        request(running!.url, 'POST', '/_matrix/client/v3/register', {
          body: { username, password: 'pw', auth: { type: 'm.login.registration_token', token } },
        });
      const first = await register('tokenuser');
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual((await validity(token)).body, { valid: false });
      assert.equal((await register('another')).status, 401);
    });

    it('create-registration-token refuses bad options', async () => {
      for (const args of [['--uses', '0'], ['--uses', '1.5'], ['--expires-in-hours', '-2'], ['--token', 'has space']]) {
        const res = await weft(['create-registration-token', '-c', configFile, ...args], { env });
        assert.notEqual(res.code, 0, args.join(' '));
        assert.match(res.stderr, /must be|characters/);
      }
    });

    it('register-user explains why it cannot create a user', async () => {
      const passwordFile = join(dir, 'password');
      writeFileSync(passwordFile, 'pw\n');
      const args = ['-c', configFile, '--password-file', passwordFile];
      assert.equal((await weft(['register-user', 'carol', ...args], { env })).code, 0);

      const taken = await weft(['register-user', 'carol', ...args], { env });
      assert.notEqual(taken.code, 0);
      assert.match(taken.stderr, /M_USER_IN_USE/);

      const invalid = await weft(['register-user', 'Carol Smith', ...args], { env });
      assert.notEqual(invalid.code, 0);
      assert.match(invalid.stderr, /M_INVALID_USERNAME/);

      const elsewhere = await weft(['register-user', '@carol:example.org', ...args], { env });
      assert.notEqual(elsewhere.code, 0);
      assert.match(elsewhere.stderr, /not a user ID on this server/);

      const noPassword = await weft(['register-user', 'dave', '-c', configFile], { env, input: '' });
      assert.notEqual(noPassword.code, 0);
      assert.match(noPassword.stderr, /no password given/);

      const noFile = await weft(['register-user', 'dave', '-c', configFile, '--password-file', join(dir, 'nope')], { env });
      assert.notEqual(noFile.code, 0);
      assert.match(noFile.stderr, /cannot read password file/);
    });

    it('start serves the client API and exits 0 on SIGTERM', async () => {
      running = await startWeft(configFile, env);
      const versions = await request(running.url, 'GET', '/_matrix/client/versions');
      assert.equal(versions.status, 200);
      assert.ok(Array.isArray(versions.body.versions));

      running.child.kill('SIGTERM');
      const outcome = await running.done;
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.match(running.stdout(), /weft: stopped/);
      await assert.rejects(fetch(`${running.url}/_matrix/client/versions`));
    });

    it('start exits 0 on SIGINT too', async () => {
      running = await startWeft(configFile, env);
      running.child.kill('SIGINT');
      const outcome = await running.done;
      assert.equal(outcome.code, 0, JSON.stringify(outcome));
    });

    it('start exits 1 when the port is taken', async () => {
      running = await startWeft(configFile, env);
      const port = new URL(running.url).port;
      const second = await weft(['start', '-c', configFile], { env: { ...env, WEFT_BIND: `127.0.0.1:${port}` } });
      assert.equal(second.code, 1);
      assert.match(second.stderr, /EADDRINUSE/);
    });

    it('start and migrate refuse a database written by a newer Weft', async () => {
      const db = await openDb({ url: database.url });
      try {
        await migrate(db);
        await db('schema_migrations').insert({ name: '9999_from_the_future', batch: 99, migration_time: new Date() });
      } finally {
        await db.destroy();
      }
      for (const command of ['start', 'migrate']) {
        const outcome = await weft([command, '-c', configFile], { env: { ...env, WEFT_BIND: '127.0.0.1:0' } });
        assert.equal(outcome.code, 1, `${command}: ${outcome.stdout}`);
        assert.match(outcome.stderr, /newer than this version of Weft understands \(unknown migrations: 9999_from_the_future\)/);
        assert.doesNotMatch(outcome.stderr, /unexpected error/);
      }
    });

    it('keeps SQLite data where the config says', async function () {
      if (process.env.WEFT_TEST_POSTGRES_URL) this.skip();
      const file = join(dir, 'sqlite.yaml');
      writeFileSync(file, generateConfig({ serverName: 'localhost', dataDir: join(dir, 'here') }));
      const outcome = await weft(['migrate', '-c', file], { env: { WEFT_LOG_LEVEL: 'warn' } });
      assert.equal(outcome.code, 0, outcome.stderr);
      assert.ok(existsSync(join(dir, 'here', 'weft.db')));
    });
  });
});

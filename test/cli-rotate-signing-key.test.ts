/** `weft rotate-signing-key`, run as a child process on real config files. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateConfig } from '../server/config/generate';
import { loadConfigFile } from '../server/config/load';
import { publicKeyBase64 } from '../spec/signing';
import { parseSigningKey } from '../spec/signing-key';
import { generateSigningKey } from '../server/config/signing-key';

const WEFT = join(__dirname, '..', '..', 'bin', 'weft.js');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs weft without the WEFT_* settings of the developer's shell. */
function weft(args: string[], cwd: string): Promise<Outcome> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEFT_')));
  const child = spawn(process.execPath, [WEFT, ...args], { cwd, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('weft rotate-signing-key', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'weft-rotate-'));
    file = join(dir, 'config.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--help describes the command, and weft --help lists it', async () => {
    const help = await weft(['rotate-signing-key', '--help'], dir);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: weft rotate-signing-key /);
    assert.match(help.stdout, /-c, --config <file>/);
    assert.match((await weft(['--help'], dir)).stdout, /\brotate-signing-key\b/);
  });

  it('puts a new key in signing_key and the old one in old_signing_keys, changing nothing else', async () => {
    const original = generateConfig({ serverName: 'example.org' });
    writeFileSync(file, original, { mode: 0o600 });
    const before = loadConfigFile(file, {});
    const startedAt = Date.now();
    const first = await weft(['rotate-signing-key', '-c', file], dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /restart the server/);

    const after = loadConfigFile(file, {});
    const newKey = parseSigningKey(after.signing_key);
    const oldKey = parseSigningKey(before.signing_key);
    assert.equal(first.stdout, `${newKey.keyId}\n`);
    assert.notEqual(newKey.keyId, oldKey.keyId);
    assert.notDeepEqual(newKey.seed, oldKey.seed);
    assert.deepEqual(Object.keys(after.old_signing_keys), [oldKey.keyId]);
    const retired = after.old_signing_keys[oldKey.keyId];
    assert.equal(retired.key, publicKeyBase64(oldKey));
    assert.ok(retired.expired_ts >= startedAt && retired.expired_ts <= Date.now(), `expired_ts ${retired.expired_ts} is now`);
    // Nothing else changed, byte for byte.
    const text = readFileSync(file, 'utf8');
    const expected = original
      .replace(`signing_key: "${before.signing_key}"`, `signing_key: "${after.signing_key}"`)
      .replace('old_signing_keys: {}\n', `old_signing_keys:\n  "${oldKey.keyId}":\n    key: "${retired.key}"\n    expired_ts: ${retired.expired_ts}\n`);
    assert.equal(text, expected);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the file keeps its permissions');
    assert.deepEqual(readdirSync(dir), ['config.yaml'], 'no temporary file is left behind');

    // A second rotation adds the key it replaces after the first, in the same style.
    const second = await weft(['rotate-signing-key', '-c', file], dir);
    assert.equal(second.code, 0, second.stderr);
    const third = loadConfigFile(file, {});
    assert.deepEqual(Object.keys(third.old_signing_keys), [oldKey.keyId, newKey.keyId]);
    const again = third.old_signing_keys[newKey.keyId];
    assert.equal(again.key, publicKeyBase64(newKey));
    assert.equal(second.stdout, `${parseSigningKey(third.signing_key).keyId}\n`);
    const entry = `    expired_ts: ${retired.expired_ts}\n`;
    assert.equal(
      readFileSync(file, 'utf8'),
      text
        .replace(`signing_key: "${after.signing_key}"`, `signing_key: "${third.signing_key}"`)
        .replace(entry, `${entry}  "${newKey.keyId}":\n    key: "${again.key}"\n    expired_ts: ${again.expired_ts}\n`),
    );
  });

  it('adds old_signing_keys to a file that has none', async () => {
    const key = generateSigningKey();
    writeFileSync(file, `# mine\nserver_name: example.org # the name\nsigning_key: ${key} # plain\n`);
    const run = await weft(['rotate-signing-key', '-c', file], dir);
    assert.equal(run.code, 0, run.stderr);
    const after = loadConfigFile(file, {});
    const old = parseSigningKey(key);
    assert.deepEqual(after.old_signing_keys, { [old.keyId]: { key: publicKeyBase64(old), expired_ts: after.old_signing_keys[old.keyId].expired_ts } });
    assert.equal(
      readFileSync(file, 'utf8'),
      `# mine\nserver_name: example.org # the name\nsigning_key: "${after.signing_key}" # plain\n` +
        `old_signing_keys:\n  "${old.keyId}":\n    key: "${publicKeyBase64(old)}"\n    expired_ts: ${after.old_signing_keys[old.keyId].expired_ts}\n`,
    );
  });

  it('fails without changing anything when the config is missing or invalid', async () => {
    const none = await weft(['rotate-signing-key'], dir);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no configuration file/);
    const invalid = generateConfig({ serverName: 'example.org' }).replace('log_level:', 'colour: blue\nlog_level:');
    writeFileSync(file, invalid);
    const refused = await weft(['rotate-signing-key', '-c', file], dir);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /unknown key "colour"/);
    assert.equal(readFileSync(file, 'utf8'), invalid);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { generateConfig, schemaDefault } from '../server/config/generate';
import { buildConfig, ConfigError, loadConfigFile } from '../server/config/load';
import { configSchema } from '../server/config/schema';
import { generateSigningKey } from '../server/config/signing-key';

const SAMPLE = join(__dirname, '..', '..', 'config.sample.yaml');

const minimal = () => ({ server_name: 'example.org', signing_key: generateSigningKey() });

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

/** Every key name in the schema, with its dotted path (array items looked through). */
function schemaKeys(node: any = configSchema, prefix = ''): string[] {
  const properties = node.properties ?? node.items?.properties ?? {};
  return Object.entries(properties).flatMap(([key, child]) => [`${prefix}${key}`, ...schemaKeys(child, `${prefix}${key}.`)]);
}

/** Whether `key` appears as a YAML key (possibly commented out or in a flow mapping). */
const mentionsKey = (text: string, key: string) => new RegExp(`(^|[\\s#{,-])${key}:`, 'm').test(text);

describe('config', () => {
  describe('validation', () => {
    it('fills every default from a minimal config', () => {
      const config = buildConfig(minimal());
      assert.equal(config.registration.mode, 'closed');
      assert.equal(config.database.url, 'sqlite:./data/weft.db');
      assert.deepEqual(config.listeners, [{ bind_address: '127.0.0.1', port: 8008, resources: ['client', 'federation'] }]);
      assert.equal(config.rate_limits.login.burst, 5);
    });

    it('names the path of an unknown key', () => {
      const message = configError(() => buildConfig({ ...minimal(), registration: { mode: 'open', colour: 'blue' } }));
      assert.match(message, /registration: unknown key "colour"/);
    });

    it('names an unknown top-level key', () => {
      assert.match(configError(() => buildConfig({ ...minimal(), sever_name: 'typo' })), /unknown key "sever_name"/);
    });

    it('names the path and the expected type of a wrongly typed value', () => {
      const message = configError(() => buildConfig({ ...minimal(), database: { url: 'sqlite::memory:', sqlite_busy_timeout_ms: 'soon' } }));
      assert.match(message, /database\.sqlite_busy_timeout_ms: expected integer/);
      const inList = configError(() => buildConfig({ ...minimal(), listeners: [{ port: 'eighty' }] }));
      assert.match(inList, /listeners\.0\.port: expected integer/);
    });

    it('lists the allowed values of an enum', () => {
      assert.match(configError(() => buildConfig({ ...minimal(), log_level: 'loud' })), /log_level: expected one of fatal, .*silent/);
    });

    it('rejects a missing server_name and a bad signing key', () => {
      assert.match(configError(() => buildConfig({ signing_key: generateSigningKey() })), /missing key "server_name"/);
      assert.match(configError(() => buildConfig({ server_name: 'example.org', signing_key: 'ed25519 a_1 c2hvcnQ' })), /signing_key/);
    });

    it('rejects an invalid server name and accepts one with a port', () => {
      assert.match(configError(() => buildConfig({ ...minimal(), server_name: 'not a name' })), /server_name/);
      assert.equal(buildConfig({ ...minimal(), server_name: '127.0.0.1:8448' }).server_name, '127.0.0.1:8448');
    });
  });

  describe('environment overrides', () => {
    it('apply WEFT_DATABASE_URL, WEFT_BIND, WEFT_LOG_LEVEL and WEFT_REGISTRATION_SHARED_SECRET', () => {
      const config = buildConfig(minimal(), {
        WEFT_DATABASE_URL: 'postgres://weft@db.internal:5432/weft',
        WEFT_BIND: '0.0.0.0:9000',
        WEFT_LOG_LEVEL: 'debug',
        WEFT_REGISTRATION_SHARED_SECRET: 's3cret',
      });
      assert.equal(config.database.url, 'postgres://weft@db.internal:5432/weft');
      assert.equal(config.listeners[0].bind_address, '0.0.0.0');
      assert.equal(config.listeners[0].port, 9000);
      assert.equal(config.log_level, 'debug');
      assert.equal(config.registration.shared_secret, 's3cret');
    });

    it('override the values in the file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
      try {
        const file = join(dir, 'config.yaml');
        writeFileSync(file, YAML.stringify({ ...minimal(), log_level: 'warn', database: { url: 'sqlite:/file.db' } }));
        assert.equal(loadConfigFile(file, {}).log_level, 'warn');
        const overridden = loadConfigFile(file, { WEFT_LOG_LEVEL: 'error', WEFT_DATABASE_URL: 'sqlite:/other.db' });
        assert.equal(overridden.log_level, 'error');
        assert.equal(overridden.database.url, 'sqlite:/other.db');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('WEFT_BIND accepts a bracketed IPv6 address and replaces the first plain listener only', () => {
      const tls = { certificate_path: '/c.pem', key_path: '/k.pem' };
      const config = buildConfig(
        { ...minimal(), listeners: [{ port: 8448, tls, resources: ['federation'] }, { port: 8008 }, { port: 8009 }] },
        { WEFT_BIND: '[::1]:7000' },
      );
      assert.deepEqual(config.listeners.map((l) => [l.bind_address, l.port]), [['127.0.0.1', 8448], ['::1', 7000], ['127.0.0.1', 8009]]);
    });

    it('reject invalid values', () => {
      assert.match(configError(() => buildConfig(minimal(), { WEFT_BIND: 'nowhere' })), /WEFT_BIND/);
      assert.match(configError(() => buildConfig(minimal(), { WEFT_LOG_LEVEL: 'chatty' })), /log_level/);
    });
  });

  describe('config.sample.yaml', () => {
    const text = readFileSync(SAMPLE, 'utf8');

    it('loads, and holds the defaults except for the trial settings', () => {
      const sample = loadConfigFile(SAMPLE, {});
      const defaults = buildConfig({ server_name: 'localhost', signing_key: sample.signing_key, registration: { mode: 'open' } });
      assert.deepEqual(sample, defaults);
      assert.equal(sample.database.url, 'sqlite:./data/weft.db');
      assert.deepEqual(sample.listeners, [{ bind_address: '127.0.0.1', port: 8008, resources: ['client', 'federation'] }]);
    });

    it('documents every key of the schema', () => {
      const keys = schemaKeys();
      assert.ok(keys.length > 30, 'the schema walk found the keys');
      const missing = keys.filter((path) => !mentionsKey(text, path.split('.').pop()!));
      assert.deepEqual(missing, []);
    });

    it('says the default registration mode is closed and why it opens it', () => {
      assert.equal(schemaDefault('registration.mode'), 'closed');
      assert.match(text, /default is closed/);
      assert.match(text, /for local trial only; run weft generate-config for a real server/i);
    });
  });

  describe('generateConfig', () => {
    it('writes a config that loads with the defaults, a fresh key and a fresh secret', () => {
      const first = YAML.parse(generateConfig({ serverName: 'example.org:8448', dataDir: '/var/lib/weft' }));
      const second = YAML.parse(generateConfig({ serverName: 'example.org:8448', dataDir: '/var/lib/weft' }));
      assert.notEqual(first.signing_key, second.signing_key);
      assert.notEqual(first.registration.shared_secret, second.registration.shared_secret);
      assert.ok(Buffer.from(first.registration.shared_secret, 'base64url').length === 32);

      const config = buildConfig(first);
      const defaults = buildConfig({
        server_name: 'example.org:8448',
        signing_key: first.signing_key,
        registration: { shared_secret: first.registration.shared_secret },
        database: { url: 'sqlite:/var/lib/weft/weft.db' },
      });
      assert.deepEqual(config, defaults);
    });

    it('puts the database under ./data by default and takes the registration mode', () => {
      const config = buildConfig(YAML.parse(generateConfig({ serverName: 'localhost', registration: 'token' })));
      assert.equal(config.database.url, 'sqlite:./data/weft.db');
      assert.equal(config.registration.mode, 'token');
    });

    it('lists every key of the schema', () => {
      const text = generateConfig({ serverName: 'localhost' });
      assert.deepEqual(schemaKeys().filter((path) => !mentionsKey(text, path.split('.').pop()!)), []);
    });

    it('quotes values YAML would otherwise misread', () => {
      const config = buildConfig(YAML.parse(generateConfig({ serverName: '[::1]:8448', dataDir: 'C:\\weft data #1' })));
      assert.equal(config.server_name, '[::1]:8448');
      assert.equal(config.database.url, 'sqlite:C:\\weft data #1/weft.db');
    });
  });
});

/** Reads, overrides from the environment and validates the YAML configuration. */
import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import YAML from 'yaml';
import { isValidServerName } from '../../spec/identifiers';
import { parseSigningKey } from '../../spec/signing-key';
import { parseIpRange } from '../net/ip-ranges';
import { configSchema, type Config } from './schema';

export class ConfigError extends Error {}

const validate = new Ajv({ useDefaults: true, allErrors: true, strict: false }).compile<Config>(configSchema);

/** Environment variables that override keys of the file (documented in config.sample.yaml). */
export type ConfigEnv = Partial<Record<
  'WEFT_DATABASE_URL' | 'WEFT_BIND' | 'WEFT_LOG_LEVEL' | 'WEFT_REGISTRATION_SHARED_SECRET', string
>>;

export function loadConfigFile(path: string, env: ConfigEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return buildConfig(raw ?? {}, env, path);
}

/** Validates a parsed config object, fills defaults and applies environment overrides. */
export function buildConfig(raw: unknown, env: ConfigEnv = {}, source = 'config'): Config {
  const config = structuredClone(raw);
  check(config, source);
  applyEnv(config as Config, env);
  check(config, `${source} (after environment overrides)`);
  return config as Config;
}

function check(config: unknown, source: string): asserts config is Config {
  if (!validate(config)) {
    throw new ConfigError(`invalid ${source}:\n` + (validate.errors ?? []).map(describe).join('\n'));
  }
  if (!isValidServerName(config.server_name)) {
    throw new ConfigError(`invalid ${source}:\n  server_name: "${config.server_name}" is not a valid server name`);
  }
  try {
    parseSigningKey(config.signing_key);
  } catch (err) {
    throw new ConfigError(`invalid ${source}:\n  signing_key: ${(err as Error).message}`);
  }
  const badRanges = (['ip_range_denylist', 'ip_range_allowlist'] as const).flatMap((key) =>
    config[key].flatMap((range, i) => {
      try {
        parseIpRange(range);
        return [];
      } catch (err) {
        return [`  ${key}[${i}]: ${(err as Error).message} (expected CIDR notation, e.g. 10.0.0.0/8 or fc00::/7)`];
      }
    }),
  );
  if (badRanges.length > 0) throw new ConfigError(`invalid ${source}:\n${badRanges.join('\n')}`);
}

function describe(e: ErrorObject): string {
  const at = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
  switch (e.keyword) {
    case 'additionalProperties':
      return `  ${at}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case 'required':
      return `  ${at}: missing key "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'enum':
      return `  ${at}: expected one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'type':
      return `  ${at}: expected ${(e.params as { type: string }).type}`;
    default:
      return `  ${at}: ${e.message}`;
  }
}

function applyEnv(config: Config, env: ConfigEnv): void {
  if (env.WEFT_DATABASE_URL) config.database.url = env.WEFT_DATABASE_URL;
  if (env.WEFT_LOG_LEVEL) config.log_level = env.WEFT_LOG_LEVEL as Config['log_level'];
  if (env.WEFT_REGISTRATION_SHARED_SECRET) config.registration.shared_secret = env.WEFT_REGISTRATION_SHARED_SECRET;
  if (env.WEFT_BIND) {
    const match = /^(.*):(\d+)$/.exec(env.WEFT_BIND);
    if (!match) throw new ConfigError(`WEFT_BIND: expected host:port, got "${env.WEFT_BIND}"`);
    const host = match[1].replace(/^\[(.*)\]$/, '$1');
    const plain = config.listeners.find((l) => !l.tls);
    if (plain) {
      plain.bind_address = host;
      plain.port = Number(match[2]);
    } else {
      config.listeners.unshift({ bind_address: host, port: Number(match[2]), resources: ['client', 'federation'] });
    }
  }
}

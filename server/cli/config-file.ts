/** The -c/--config option the commands share, and loading the file it names. */
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import { loadConfigFile } from '../config/load';
import type { Config } from '../config/schema';
import { CliError } from './failure';

const DEFAULT_PATH = 'config.yaml';

export const configOption = () =>
  new Option('-c, --config <file>', `configuration file (default: $WEFT_CONFIG, else ./${DEFAULT_PATH})`);

/** The config file to use: -c, else $WEFT_CONFIG, else ./config.yaml if it exists. */
export function configPath(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const path = given ?? env.WEFT_CONFIG;
  if (path) return path;
  if (existsSync(DEFAULT_PATH)) return DEFAULT_PATH;
  throw new CliError(
    `no configuration file: pass -c FILE, set WEFT_CONFIG, or create ./${DEFAULT_PATH} ` +
      '(weft generate-config --server-name NAME -o config.yaml)',
  );
}

/** Loads and validates the config (with environment overrides); throws ConfigError. */
export function readConfig(given: string | undefined): Config {
  return loadConfigFile(configPath(given));
}

/**
 * Rewrites config.sample.yaml from the schema's defaults, keeping its signing
 * key: run `npm run sample-config` after adding or changing a config key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateConfig } from '../config/generate';

const path = join(__dirname, '..', '..', '..', 'config.sample.yaml');
const signingKey = /^signing_key: "(.*)"$/m.exec(readFileSync(path, 'utf8'))?.[1];
if (!signingKey) throw new Error(`no signing_key line in ${path}`);
writeFileSync(path, generateConfig({ serverName: 'localhost', trial: true, registration: 'open', signingKey, sharedSecret: null }));

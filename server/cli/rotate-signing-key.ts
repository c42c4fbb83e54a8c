/**
 * `weft rotate-signing-key`: a fresh signing key replaces the current one,
 * which moves to old_signing_keys (expired now) so that the events it signed
 * can still be checked. Only those two values of the config file change: its
 * comments and layout stay as they were.
 */
import { readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import YAML, { isMap, isScalar, type Node } from 'yaml';
import { publicKeyBase64 } from '../../spec/signing';
import { parseSigningKey } from '../../spec/signing-key';
import { buildConfig, ConfigError, loadConfigFile } from '../config/load';
import { generateSigningKey } from '../config/signing-key';
import { configOption, configPath } from './config-file';

interface Options {
  config?: string;
}

export function defineRotateSigningKey(program: Command): void {
  program
    .command('rotate-signing-key')
    .description('replace the signing key with a new one, keeping the old one as an old key; prints the new key ID')
    .addOption(configOption())
    .action((options: Options) => {
      const path = configPath(options.config);
      const keyId = rotateSigningKey(path, Date.now());
      process.stdout.write(`${keyId}\n`);
      process.stderr.write(`weft: rotated the signing key in ${path}; restart the server to use it\n`);
    });
}

/** Rewrites the config file at `path` with a new signing key; returns its key ID. */
export function rotateSigningKey(path: string, now: number): string {
  const config = loadConfigFile(path);
  const file = realpathSync(path);
  const current = parseSigningKey(config.signing_key);
  let line: string;
  do line = generateSigningKey();
  while (parseSigningKey(line).keyId === current.keyId || Object.hasOwn(config.old_signing_keys, parseSigningKey(line).keyId));
  const retired = { key: publicKeyBase64(current), expired_ts: now };

  const before = readFileSync(file, 'utf8');
  const after = withRotatedKey(before, line, current.keyId, retired);
  const check = YAML.parse(after) as { signing_key?: unknown; old_signing_keys?: Record<string, unknown> };
  if (check.signing_key !== line || !isDeepStrictEqual(check.old_signing_keys?.[current.keyId], retired)) {
    throw new ConfigError(`could not rewrite the keys in ${path}; it is unchanged`);
  }
  buildConfig(check, {}, `${path} as rewritten (unchanged)`);

  // Written beside the file and renamed over it: a crash leaves the old file or the new one, never half of one.
  const temporary = `${file}.rotating-${process.pid}`;
  try {
    writeFileSync(temporary, after, { mode: statSync(file).mode & 0o777, flag: 'wx' });
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  return parseSigningKey(line).keyId;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

type OldKey = { key: unknown; expired_ts: unknown };

/**
 * The config text with `signing_key` replaced and the retired key added to
 * `old_signing_keys`. The document (yaml's Document API) says where the two
 * values are; only their text changes, so every comment and the rest of the
 * layout stay byte for byte as they were.
 */
function withRotatedKey(text: string, signingKey: string, retiredKeyId: string, retired: OldKey): string {
  const document = YAML.parseDocument(text);
  const root = document.contents;
  const pairOf = (name: string) => (isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === name) : undefined);
  const edits: Edit[] = [];

  const current = pairOf('signing_key')?.value;
  if (!isScalar(current) || !current.range) throw new ConfigError('signing_key is not a single value');
  edits.push({ start: current.range[0], end: current.range[1], text: JSON.stringify(signingKey) });

  const entry = (indent: string, keyId: string, old: OldKey) =>
    `${indent}${JSON.stringify(keyId)}:\n${indent}  key: ${JSON.stringify(old.key)}\n${indent}  expired_ts: ${String(old.expired_ts)}\n`;
  const pair = pairOf('old_signing_keys');
  const oldKeys = pair?.value;
  const keyNode = pair?.key as Node | undefined;
  if (pair === undefined) {
    const end = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    edits.push({ start: text.length, end: text.length, text: `${end}old_signing_keys:\n${entry('  ', retiredKeyId, retired)}` });
  } else if (isMap(oldKeys) && !oldKeys.flow && oldKeys.items.length > 0) {
    // A block map with entries already: one more after the last, indented like the first.
    const firstKey = oldKeys.items[0].key as Node;
    const lastEnd = valueEnd(oldKeys);
    if (!firstKey.range || lastEnd === undefined) throw new ConfigError('old_signing_keys has an entry without a value');
    const lineEnd = text.indexOf('\n', lastEnd);
    const at = lineEnd < 0 ? text.length : lineEnd + 1;
    edits.push({ start: at, end: at, text: `${lineEnd < 0 ? '\n' : ''}${entry(' '.repeat(columnOf(text, firstKey.range[0])), retiredKeyId, retired)}` });
  } else if (isMap(oldKeys) && oldKeys.range && keyNode?.range) {
    // `{}` (as generated) or another flow map: written out again as a block.
    const indent = ' '.repeat(columnOf(text, keyNode.range[0]) + 2);
    const entries = Object.entries({ ...(oldKeys.toJSON() as Record<string, OldKey>), [retiredKeyId]: retired });
    let start = oldKeys.range[0];
    while (text[start - 1] === ' ') start--; // no space left dangling after the colon
    edits.push({ start, end: oldKeys.range[1], text: `\n${entries.map(([keyId, old]) => entry(indent, keyId, old)).join('').replace(/\n$/, '')}` });
  } else {
    throw new ConfigError('old_signing_keys is not a map');
  }

  let result = text;
  for (const edit of edits.sort((x, y) => y.start - x.start)) result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return result;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** Where the last value inside `node` ends: a map's range runs on over the blank lines after it. */
function valueEnd(node: unknown): number | undefined {
  if (isMap(node)) return node.items.length === 0 ? undefined : valueEnd(node.items[node.items.length - 1].value);
  return isScalar(node) && node.range ? node.range[1] : undefined;
}

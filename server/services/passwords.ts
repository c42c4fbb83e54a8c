/**
 * Password hashing with scrypt (memory-hard, in node:crypto). The stored form
 * carries its parameters, so raising the cost later leaves old hashes valid:
 * `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { MatrixError } from '../../spec/errors';
import type { Config } from '../config/schema';

const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const maxmem = (logN: number, r: number) => 256 * r * 2 ** logN;

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N: 2 ** logN, r: BLOCK_SIZE, p: PARALLELISM, maxmem: maxmem(logN, BLOCK_SIZE) });
  return ['scrypt', logN, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parts = stored?.split('$');
  if (!parts || parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  const expected = Buffer.from(parts[5], 'base64');
  const key = await derive(password, Buffer.from(parts[4], 'base64'), { N: 2 ** logN, r, p, maxmem: maxmem(logN, r) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Throws M_WEAK_PASSWORD (the spec's code) if `password` breaks the configured policy. */
export function checkPasswordPolicy(password: string, policy: Config['registration']['password_policy']): void {
  const problems = [
    password.length < policy.min_length && `be at least ${policy.min_length} characters long`,
    policy.require_digit && !/\d/.test(password) && 'contain a digit',
    policy.require_lowercase && !/\p{Ll}/u.test(password) && 'contain a lowercase letter',
    policy.require_uppercase && !/\p{Lu}/u.test(password) && 'contain an uppercase letter',
    policy.require_symbol && !/[^\p{L}\p{N}]/u.test(password) && 'contain a symbol',
  ].filter(Boolean);
  if (problems.length > 0) throw new MatrixError(400, 'M_WEAK_PASSWORD', `Password must ${problems.join(', ')}`);
}

/** Generating a fresh ed25519 signing key in the config file's format. */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { formatSigningKey } from '../../spec/signing-key';

export function generateSigningKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const version = 'a_' + randomBytes(3).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
  return formatSigningKey({ keyId: `ed25519:${version}`, seed });
}

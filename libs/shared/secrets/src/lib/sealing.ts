import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets the platform must be able to read back (request-signing secrets) are sealed with
 * AES-256-GCM under the deployment's secrets key before they are stored anywhere: an event, a row
 * or a log line only ever holds `v1.<iv>.<tag>.<ciphertext>`.
 */
export class SecretSealer {
  private readonly key: Buffer;

  constructor(secretsKey: string) {
    this.key = parseSecretsKey(secretsKey);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  unseal(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** 32 bytes, as 64 hex characters or base64/base64url. */
export function parseSecretsKey(value: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64url');
  if (key.length !== 32) throw new Error('KEYLEDGER_SECRETS_KEY must be 32 bytes (64 hex characters or base64)');
  return key;
}

export function generateSecretsKey(): string {
  return randomBytes(32).toString('hex');
}

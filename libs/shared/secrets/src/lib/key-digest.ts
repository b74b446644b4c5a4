import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Keys are stored and looked up as their SHA-256 only (hex), by the key-registry that writes them
 * and the gateway that reads them: one function, so the two can never disagree. Generated keys carry
 * 238 bits of randomness and custom keys at least 32 characters, so a stolen table cannot be
 * brute-forced; a pepper would add a secret every service must share and rotate without buying more
 * than that. Device codes (256 random bits) are stored the same way.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function hashesMatch(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

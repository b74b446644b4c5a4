import { crc32 } from 'node:zlib';
import type { Environment } from '@keyledger/contracts';
import { randomBase62, toBase62 } from './base62';

/** 40 random base62 characters carry 40·log2(62) ≈ 238.2 bits; 6 more hold the checksum. */
const RANDOM_CHARS = 40;
const CHECKSUM_CHARS = 6;
const BODY_CHARS = RANDOM_CHARS + CHECKSUM_CHARS;

/** `<prefix>_<env>_<46 base62>`: what secret scanners match (see the README). */
export function apiKeyPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}_(live|test)_[0-9A-Za-z]{${BODY_CHARS}}$`);
}

function checksum(payload: string): string {
  return toBase62(crc32(payload), CHECKSUM_CHARS);
}

export function generateApiKey(prefix: string, environment: Environment): string {
  const payload = `${prefix}_${environment}_${randomBase62(RANDOM_CHARS)}`;
  return payload + checksum(payload);
}

/** True when `key` has the generated format and its checksum matches: checkable offline. */
export function hasValidChecksum(key: string, prefix: string): boolean {
  if (!apiKeyPattern(prefix).test(key)) return false;
  const payload = key.slice(0, -CHECKSUM_CHARS);
  return key.slice(-CHECKSUM_CHARS) === checksum(payload);
}

/** Custom keys supplied by the caller: 32–128 characters of `[A-Za-z0-9_-]`. */
export const CUSTOM_KEY_PATTERN = /^[A-Za-z0-9_-]{32,128}$/;

/** What may be shown of a key after creation: its leading part and last four characters. */
export function displayParts(key: string): { key_prefix: string; last4: string } {
  const generated = /^([a-z][a-z0-9]*_(?:live|test))_/.exec(key);
  return {
    key_prefix: generated ? `${generated[1]}_` : key.slice(0, 4),
    last4: key.slice(-4),
  };
}

import { randomBytes, randomInt } from 'node:crypto';
import { USER_CODE_ALPHABET } from './device-authorization.decider';

/** A user code: 8 letters of the RFC 8628 alphabet, shown `XXXX-XXXX` (20^8 ≈ 2^34.6). */
export function generateUserCode(): string {
  let letters = '';
  for (let i = 0; i < 8; i++) letters += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${letters.slice(0, 4)}-${letters.slice(4)}`;
}

/** A device code: 256 random bits, base64url; stored only as its SHA-256. */
export function generateDeviceCode(): string {
  return randomBytes(32).toString('base64url');
}

/** A signing secret for request signing: 256 random bits, prefixed so scanners can spot it. */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

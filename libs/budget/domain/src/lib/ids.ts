import { randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Opaque spend ids (`spd_…`): 22 base62 characters from the CSPRNG, about 131 random bits. */
export function newSpendId(): string {
  let out = 'spd_';
  for (let i = 0; i < 22; i++) out += BASE62[randomInt(62)];
  return out;
}

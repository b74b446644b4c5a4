import { createHash } from 'node:crypto';
import { hashApiKey, hashesMatch } from './key-digest';

describe('hashApiKey', () => {
  it('is the hex SHA-256 of the key, and only equal keys match', () => {
    const key = 'kl_test_0123456789abcdefghijABCDEFGHIJ0123456789';
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashesMatch(hashApiKey(key), hashApiKey(key))).toBe(true);
    expect(hashesMatch(hashApiKey(key), hashApiKey(key + 'x'))).toBe(false);
    expect(hashesMatch(hashApiKey(key), 'abcd')).toBe(false);
  });
});

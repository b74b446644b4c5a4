import { apiKeyPattern, displayParts, generateApiKey, hasValidChecksum } from './api-key-format';
import { toBase62 } from './base62';

describe('API key format', () => {
  it('generates <prefix>_<env>_<46 base62> keys that pass their own checksum', () => {
    for (const env of ['live', 'test'] as const) {
      const key = generateApiKey('kl', env);
      expect(key).toMatch(apiKeyPattern('kl'));
      expect(key.startsWith(`kl_${env}_`)).toBe(true);
      expect(key.length).toBe(`kl_${env}_`.length + 46);
      expect(hasValidChecksum(key, 'kl')).toBe(true);
    }
  });

  it('tells a mistyped key from a real one offline: any changed character breaks the checksum', () => {
    const key = generateApiKey('kl', 'live');
    const body = key.slice('kl_live_'.length);
    for (let i = 0; i < body.length; i++) {
      const replacement = body[i] === 'a' ? 'b' : 'a';
      const typo = `kl_live_${body.slice(0, i)}${replacement}${body.slice(i + 1)}`;
      expect(hasValidChecksum(typo, 'kl')).toBe(false);
    }
    expect(hasValidChecksum(key.replace('kl_live_', 'kl_test_'), 'kl')).toBe(false);
    expect(hasValidChecksum(key, 'acme')).toBe(false);
  });

  it('draws keys from a CSPRNG: no repeats, every base62 character used', () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey('kl', 'test'));
    expect(new Set(keys).size).toBe(keys.length);
    const seen = new Set(keys.join('').replace(/kl_test_/g, ''));
    expect(seen.size).toBe(62);
  });

  it('shows only the prefix and last four', () => {
    const key = generateApiKey('kl', 'test');
    expect(displayParts(key)).toEqual({ key_prefix: 'kl_test_', last4: key.slice(-4) });
  });

  it('encodes checksums in fixed-width base62', () => {
    expect(toBase62(0, 6)).toBe('000000');
    expect(toBase62(0xffffffff, 6)).toBe('4gfFC3');
    expect(() => toBase62(62 ** 6, 6)).toThrow(RangeError);
  });
});

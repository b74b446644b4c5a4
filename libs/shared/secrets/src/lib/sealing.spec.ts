import { generateSecretsKey, SecretSealer } from './sealing';

describe('SecretSealer', () => {
  const sealer = new SecretSealer(generateSecretsKey());

  it('round-trips a secret and never shows it in the sealed form', () => {
    const sealed = sealer.seal('whsec_topsecret');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('topsecret');
    expect(sealer.unseal(sealed)).toBe('whsec_topsecret');
  });

  it('seals the same secret differently each time', () => {
    expect(sealer.seal('a')).not.toBe(sealer.seal('a'));
  });

  it('refuses a tampered value and one sealed under another key', () => {
    const sealed = sealer.seal('whsec_x');
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => sealer.unseal(tampered)).toThrow();
    expect(() => new SecretSealer(generateSecretsKey()).unseal(sealed)).toThrow();
  });

  it('rejects a key of the wrong size with a clear message', () => {
    expect(() => new SecretSealer('abcd')).toThrow(/32 bytes/);
  });
});

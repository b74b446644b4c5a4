import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '@keyledger/config';
import { generateSigningSeed, rawPublicKey } from '@keyledger/audit-domain';
import { readAuditSigningKey } from './audit-signing-key';

describe('KEYLEDGER_AUDIT_SIGNING_KEY', () => {
  it('is required, with a message naming it', () => {
    expect(() => readAuditSigningKey({})).toThrow(ConfigError);
    expect(() => readAuditSigningKey({})).toThrow(/KEYLEDGER_AUDIT_SIGNING_KEY: required/);
  });

  it('takes a 32-byte seed as hex or base64, or a PKCS8 PEM, all giving the same key', () => {
    const seed = generateSigningSeed();
    const fromHex = rawPublicKey(readAuditSigningKey({ KEYLEDGER_AUDIT_SIGNING_KEY: seed }));
    const fromBase64 = rawPublicKey(readAuditSigningKey({ KEYLEDGER_AUDIT_SIGNING_KEY: Buffer.from(seed, 'hex').toString('base64') }));
    expect(fromBase64).toEqual(fromHex);
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(rawPublicKey(readAuditSigningKey({ KEYLEDGER_AUDIT_SIGNING_KEY: pem }))).toHaveLength(32);
  });

  it('rejects what is not an Ed25519 key, without echoing it', () => {
    expect(() => readAuditSigningKey({ KEYLEDGER_AUDIT_SIGNING_KEY: 'abcd' })).toThrow(/32-byte seed/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    let message = '';
    try {
      readAuditSigningKey({ KEYLEDGER_AUDIT_SIGNING_KEY: pem });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/must be an Ed25519 key/);
    expect(message).not.toContain('PRIVATE KEY');
  });
});

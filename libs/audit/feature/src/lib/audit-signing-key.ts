import type { KeyObject } from 'node:crypto';
import { ConfigError, readConfig } from '@keyledger/config';
import { SigningKeyError, parseSigningKey } from '@keyledger/audit-domain';

export const AUDIT_SIGNING_KEY = Symbol('keyledger.audit-signing-key');

/** Read once at start-up; audit-attestation does not start without it (checkpoints must be signed). */
export function readAuditSigningKey(env: Record<string, string | undefined> = process.env): KeyObject {
  const { KEYLEDGER_AUDIT_SIGNING_KEY } = readConfig(['KEYLEDGER_AUDIT_SIGNING_KEY'], env);
  if (!KEYLEDGER_AUDIT_SIGNING_KEY) {
    throw new ConfigError('invalid configuration: KEYLEDGER_AUDIT_SIGNING_KEY: required (an Ed25519 PKCS8 PEM or a 32-byte seed in hex or base64)');
  }
  try {
    return parseSigningKey(KEYLEDGER_AUDIT_SIGNING_KEY);
  } catch (error) {
    const reason = error instanceof SigningKeyError ? error.message : 'not a readable private key';
    throw new ConfigError(`invalid configuration: KEYLEDGER_AUDIT_SIGNING_KEY: ${reason}`);
  }
}

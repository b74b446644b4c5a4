import type { MigrationSet } from '@keyledger/event-store';
import * as auditChain from './migrations/2026_11_22_0001_audit_chain';
import * as attestations from './migrations/2026_11_22_0002_attestations';

/** audit-attestation's own tables, with their own migration history. */
export const auditMigrations: MigrationSet = {
  name: 'audit',
  migrations: { '2026_11_22_0001_audit_chain': auditChain, '2026_11_22_0002_attestations': attestations },
};

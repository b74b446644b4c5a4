import type { MigrationSet } from '@keyledger/event-store';
import * as auditChain from './migrations/2026_11_22_0001_audit_chain';

/** audit-attestation's own tables, with their own migration history. */
export const auditMigrations: MigrationSet = {
  name: 'audit',
  migrations: { '2026_11_22_0001_audit_chain': auditChain },
};

import { AUDIT_READ_MODEL_TABLES, auditProjection, ReadModelProjection } from '@keyledger/audit-data-access';
import { BUDGET_READ_MODEL_TABLES, budgetProjection } from '@keyledger/budget-data-access';
import { KEYS_READ_MODEL_TABLES, keysProjection } from '@keyledger/keys-data-access';

/**
 * Every service's read model, for `keyledger audit replay`: the projection the service runs inline
 * (`projectRows` over it) and the tables it fills, both exported by the service's data-access lib.
 * A new service adds one line.
 */
export const READ_MODEL_PROJECTIONS: readonly ReadModelProjection[] = [
  { service: 'key-registry', projection: keysProjection, tables: KEYS_READ_MODEL_TABLES },
  { service: 'budget-ledger', projection: budgetProjection, tables: BUDGET_READ_MODEL_TABLES },
  { service: 'audit-attestation', projection: auditProjection, tables: AUDIT_READ_MODEL_TABLES },
];

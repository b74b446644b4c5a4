import { AUDIT_READ_MODEL_TABLES, projectAuditEvents, ReadModelProjection } from '@keyledger/audit-data-access';
import { BUDGET_READ_MODEL_TABLES, projectBudgetEvents } from '@keyledger/budget-data-access';
import { KEYS_READ_MODEL_TABLES, projectKeyEvents } from '@keyledger/keys-data-access';

/**
 * Every service's read model, for `keyledger audit replay`: the projection the service runs inline
 * and the tables it fills, both exported by the service's data-access lib. A new service adds one line.
 */
export const READ_MODEL_PROJECTIONS: readonly ReadModelProjection[] = [
  { service: 'key-registry', project: projectKeyEvents, tables: KEYS_READ_MODEL_TABLES },
  { service: 'budget-ledger', project: projectBudgetEvents, tables: BUDGET_READ_MODEL_TABLES },
  { service: 'audit-attestation', project: projectAuditEvents, tables: AUDIT_READ_MODEL_TABLES },
];

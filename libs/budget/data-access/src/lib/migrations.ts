import type { MigrationSet } from '@keyledger/event-store';
import * as budgetReadModel from './migrations/2026_11_22_0001_budget_read_model';
import * as spendAttestationLink from './migrations/2026_11_22_0002_spend_attestation_link';

/** The budget-ledger's own tables, with their own migration history. */
export const budgetMigrations: MigrationSet = {
  name: 'budget',
  migrations: { '2026_11_22_0001_budget_read_model': budgetReadModel, '2026_11_22_0002_spend_attestation_link': spendAttestationLink },
};

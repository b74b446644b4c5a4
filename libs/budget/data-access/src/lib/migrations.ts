import type { MigrationSet } from '@keyledger/event-store';
import * as budgetReadModel from './migrations/2026_11_22_0001_budget_read_model';

/** The budget-ledger's own tables, with their own migration history. */
export const budgetMigrations: MigrationSet = {
  name: 'budget',
  migrations: { '2026_11_22_0001_budget_read_model': budgetReadModel },
};

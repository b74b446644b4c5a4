import type { ColumnType } from 'kysely';
import type { BudgetInterval, Environment } from '@keyledger/contracts';
import type { BudgetReadModels, ReadModels } from '@keyledger/read-models';

/** The ledger's own tables, which only it reads: budgets and usage counters per agent. */
export interface AgentBudgetsTable {
  agent_id: string;
  org_id: string;
  environment: Environment;
  currency: string;
  fixed_limit: number | null;
  /** numeric(5,2): pg hands it over as a string. */
  budget_percent: ColumnType<string | null, number | null, number | null>;
  max_position_value: number | null;
  limits: ColumnType<{ interval: BudgetInterval; amount: number }[], string, string>;
  require_attestation: boolean;
  updated_at: Date;
  version: number;
}

export interface AgentUsageTable {
  agent_id: string;
  currency: string;
  committed: number;
  held: number;
  spent: number;
}

export interface AgentUsageDaysTable {
  agent_id: string;
  currency: string;
  day: string;
  committed: number;
}

export interface LedgerTables extends BudgetReadModels {
  agent_budgets: AgentBudgetsTable;
  agent_usage: AgentUsageTable;
  agent_usage_days: AgentUsageDaysTable;
}

/** Everything the ledger touches: its own tables and the agents read model it checks statuses in. */
export type LedgerDatabase = LedgerTables & Pick<ReadModels, 'agents'>;

export const BUDGET_READ_MODEL_TABLES = ['wallets', 'agent_budgets', 'agent_usage', 'agent_usage_days', 'spends'] as const;

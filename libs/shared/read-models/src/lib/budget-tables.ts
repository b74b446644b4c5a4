import type { ColumnType } from 'kysely';
import type { Environment, SpendAttestationClaim, SpendStatus } from '@keyledger/contracts';

/** Read-model tables of the budget-ledger (written inline with its events, read by the gateway). */
export interface WalletsTable {
  org_id: string;
  environment: Environment;
  currency: string;
  deposits: number;
  captured: number;
  refunded: number;
  held: number;
  updated_at: Date;
  /** Log position of the last event applied to this row. */
  version: number;
}

export interface SpendsTable {
  id: string;
  org_id: string;
  environment: Environment;
  agent_id: string;
  currency: string;
  amount: number;
  captured_amount: number;
  refunded_amount: number;
  status: SpendStatus;
  merchant: string | null;
  description: string | null;
  attestation: ColumnType<SpendAttestationClaim | null, string | null, string | null>;
  attestation_id: string | null;
  /** Where the spend differed from the attestation it was made under; null when made without one. */
  attestation_mismatches: ColumnType<{ field: string; claimed: unknown; actual: unknown }[] | null, string | null, string | null>;
  idempotency_key: string | null;
  /** UTC day (`YYYY-MM-DD`) the spend counts in for budget windows. */
  day: string;
  created_at: Date;
  expires_at: Date | null;
  resolved_at: Date | null;
  version: number;
}

export interface BudgetReadModels {
  wallets: WalletsTable;
  spends: SpendsTable;
}

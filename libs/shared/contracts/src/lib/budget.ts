import type { Caller } from './resources';

/** Budget-ledger request/reply subjects (the gateway sends, the budget-ledger queue group answers). */
export const BudgetSubjects = {
  deposit: 'budget.wallet.deposit',
  setBudget: 'budget.budgets.set',
  getBudget: 'budget.budgets.get',
  createSpend: 'budget.spends.create',
  captureSpend: 'budget.spends.capture',
  releaseSpend: 'budget.spends.release',
  refundSpend: 'budget.spends.refund',
} as const;

export const BudgetEventSubjects = {
  wallets: 'events.wallet.>',
  budgets: 'events.budget.>',
  spends: 'events.spend.>',
} as const;

export const BUDGET_INTERVALS = ['per_transaction', 'daily', 'weekly', 'monthly', 'all_time'] as const;
export type BudgetInterval = (typeof BUDGET_INTERVALS)[number];

/** Every factor that can limit a spend; `wallet` is the wallet's available balance. */
export type LimitingFactor =
  | 'fixed_limit'
  | 'budget_percent'
  | 'max_position_value'
  | BudgetInterval
  | 'wallet'
  | 'no_budget';

export const SPEND_STATUSES = ['authorized', 'captured', 'released', 'refunded', 'expired'] as const;
export type SpendStatus = (typeof SPEND_STATUSES)[number];

export interface BalanceView {
  currency: string;
  available: number;
  held: number;
}

export interface WalletView {
  balances: BalanceView[];
}

export interface BudgetPolicyView {
  agent_id: string;
  currency: string;
  fixed_limit: number | null;
  budget_percent: number | null;
  max_position_value: number | null;
  limits: { interval: BudgetInterval; amount: number }[];
  require_attestation: boolean;
  updated_at: string;
}

export interface BudgetComponentView {
  limit: number;
  used: number;
  remaining: number;
}

export interface BudgetView {
  agent_id: string;
  currency: string | null;
  remaining: number;
  limiting_factor: LimitingFactor | null;
  components: Partial<Record<LimitingFactor, BudgetComponentView>>;
  spent: number;
  held: number;
  wallet_available: number;
  /** The settings as last set, or null when the agent has no budget. */
  policy: BudgetPolicyView | null;
}

export interface SpendAttestationClaim {
  purpose: string;
  expected_amount?: number;
  merchant?: string;
  claims?: Record<string, unknown>;
}

export interface SpendView {
  id: string;
  agent_id: string;
  amount: number;
  captured_amount: number;
  refunded_amount: number;
  currency: string;
  status: SpendStatus;
  merchant: string | null;
  description: string | null;
  attestation_id: string | null;
  attestation: SpendAttestationClaim | null;
  created_at: string;
  expires_at: string | null;
}

export interface DepositRequest {
  caller: Caller;
  amount: number;
  currency: string;
}

export interface SetBudgetRequest {
  caller: Caller;
  agent_id: string;
  currency: string;
  fixed_limit?: number | null;
  budget_percent?: number | null;
  max_position_value?: number | null;
  limits?: { interval: BudgetInterval; amount: number }[];
  require_attestation?: boolean;
}

export interface GetBudgetRequest {
  caller: Caller;
  agent_id: string;
}

export interface CreateSpendRequest {
  caller: Caller;
  agent_id?: string;
  amount: number;
  currency: string;
  merchant?: string;
  description?: string;
  capture?: boolean;
  attestation?: SpendAttestationClaim;
  /** Set by the gateway: the attestation it recorded for `attestation` before asking for the spend. */
  attestation_id?: string;
}

export interface SpendTargetRequest {
  caller: Caller;
  spend_id: string;
  amount?: number;
}

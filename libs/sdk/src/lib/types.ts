/** The resource shapes of the Keyledger API (API.md), as a client sees them. */
export type Environment = 'live' | 'test';
export type Scope =
  | 'keys:read'
  | 'keys:write'
  | 'agents:read'
  | 'agents:write'
  | 'spend:read'
  | 'spend:write'
  | 'wallet:read'
  | 'wallet:write'
  | 'audit:read'
  | '*';
export type Plan = 'starter' | 'growth' | 'business' | 'enterprise';

export interface Org {
  id: string;
  name: string;
  plan: Plan | null;
}

export interface ApiKey {
  id: string;
  name: string | null;
  key_prefix: string;
  last4: string;
  environment: Environment;
  scopes: Scope[];
  agent_id: string | null;
  status: 'active' | 'expired' | 'revoked';
  claimed: boolean;
  signing: boolean;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** Only in the response that creates a key: the plaintext (and signing secret), shown once. */
export interface CreatedApiKey extends ApiKey {
  key: string;
  signing_secret?: string;
}

export interface Agent {
  id: string;
  name: string;
  environment: Environment;
  status: 'active' | 'paused' | 'revoked';
  paused_until: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Whoami {
  api_key: ApiKey;
  org: Org;
  agent: Agent | null;
  scopes: Scope[];
  environment: Environment;
  rate_limits: Record<string, unknown>;
}

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export type PauseDuration = '15m' | '30m' | '1h' | '4h' | 'indefinite';

export interface CreateKeyParams {
  name?: string | null;
  environment?: Environment;
  scopes?: Scope[];
  agent_id?: string | null;
  expires_at?: string | null;
  signing?: boolean;
  key?: string;
}

export interface ListParams {
  limit?: number;
  cursor?: string;
}

export interface Balance {
  currency: string;
  available: number;
  held: number;
}

export interface Wallet {
  balances: Balance[];
}

export type BudgetInterval = 'per_transaction' | 'daily' | 'weekly' | 'monthly' | 'all_time';
export type LimitingFactor = 'fixed_limit' | 'budget_percent' | 'max_position_value' | BudgetInterval | 'wallet' | 'no_budget';

/** The settings of a budget, as last set (`PUT /v1/agents/{id}/budget`). */
export interface BudgetPolicy {
  agent_id: string;
  currency: string;
  fixed_limit: number | null;
  budget_percent: number | null;
  max_position_value: number | null;
  limits: { interval: string; amount: number }[];
  require_attestation: boolean;
  updated_at: string;
}

/** What an agent may still spend: the most restrictive component wins. */
export interface Budget {
  agent_id: string;
  currency: string | null;
  remaining: number;
  limiting_factor: LimitingFactor | null;
  components: Record<string, { limit: number; used: number; remaining: number }>;
  spent: number;
  held: number;
  wallet_available: number;
  policy: BudgetPolicy | null;
}

export interface SetBudgetParams {
  currency: string;
  fixed_limit?: number | null;
  budget_percent?: number | null;
  max_position_value?: number | null;
  limits?: { interval: BudgetInterval; amount: number }[];
  require_attestation?: boolean;
}

export type SpendStatus = 'authorized' | 'captured' | 'released' | 'refunded' | 'expired';

export interface SpendAttestation {
  purpose: string;
  expected_amount?: number;
  merchant?: string;
  claims?: Record<string, unknown>;
}

export interface Spend {
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
  attestation: SpendAttestation | null;
  created_at: string;
  expires_at: string | null;
}

export interface CreateSpendParams {
  agent_id?: string;
  amount: number;
  currency: string;
  merchant?: string;
  description?: string;
  capture?: boolean;
  attestation?: SpendAttestation;
  /** An attestation recorded before (`attestations`), instead of `attestation`. */
  attestation_id?: string;
}

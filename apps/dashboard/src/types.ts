/** Resource shapes of the public API (API.md), shared with the services as types only. */
export type {
  AgentView,
  ApiKeyView,
  AuditCheckpointView,
  AuditVerifyView,
  BalanceView,
  BudgetView,
  CreatedApiKeyView,
  Environment,
  OrgView,
  SpendView,
  WalletView,
} from '@keyledger/contracts';
import type { AgentView, ApiKeyView, Environment, OrgView } from '@keyledger/contracts';

/** The scopes a key may hold (API.md, Authentication). */
export const SCOPES = [
  'keys:read',
  'keys:write',
  'agents:read',
  'agents:write',
  'spend:read',
  'spend:write',
  'wallet:read',
  'wallet:write',
  'audit:read',
] as const;

export interface Whoami {
  api_key: ApiKeyView;
  org: OrgView;
  agent: AgentView | null;
  scopes: string[];
  environment: Environment;
}

export interface AuditEvent {
  position: number;
  stream: string;
  stream_version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: { request_id?: string; actor_key_id?: string | null; agent_id?: string | null; ip?: string | null };
  recorded_at: string;
  hash: string | null;
  prev_hash: string | null;
}

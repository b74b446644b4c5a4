import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Environment, Plan, RateLimitOverrides, Scope } from '@keyledger/contracts';

/**
 * Read-model tables: written only by the service that owns them (inline, in the same transaction as
 * its events), read by the gateway. Every row can be rebuilt from the event log, except the tables
 * marked operational (usage and polling timestamps), which are telemetry, not history.
 */
export interface OrgsTable {
  id: string;
  name: string;
  plan: Plan | null;
  sandbox: boolean;
  created_at: Date;
  /** Rate-limit figures replacing the plan's (jsonb; written as JSON text). */
  overrides: ColumnType<RateLimitOverrides | null, string | null | undefined, string | null>;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string | null;
  key_hash: string;
  key_prefix: string;
  last4: string;
  environment: Environment;
  scopes: Scope[];
  agent_id: string | null;
  status: 'active' | 'revoked';
  claimed: boolean;
  signing: boolean;
  /**
   * Superseded by key_signing_secrets (keys migration 0003), still filled from the KeyCreated events
   * that carry a sealed secret (written before it) while gateways roll over; a later release drops it.
   */
  signing_secret_sealed: string | null;
  rolled_from: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  /** Log position of the last event applied to this row. */
  version: number;
}

export interface AgentsTable {
  id: string;
  org_id: string;
  environment: Environment;
  name: string;
  metadata: ColumnType<Record<string, unknown>, string, string>;
  status: 'active' | 'paused' | 'revoked';
  paused_until: Date | null;
  created_at: Date;
  version: number;
}

export interface DeviceAuthorizationsTable {
  id: string;
  device_code_hash: string;
  user_code: string;
  agent_name: string;
  scopes: Scope[];
  status: 'pending' | 'approved' | 'denied' | 'completed';
  interval_seconds: number;
  org_id: string | null;
  environment: Environment | null;
  agent_id: string | null;
  key_id: string | null;
  expires_at: Date;
  requested_at: Date;
  version: number;
}

/** Operational: when each key was last used (reported by gateways, not an event). */
export interface ApiKeyUsageTable {
  key_id: string;
  last_used_at: Date;
}

/** Operational: when each device code was last polled (for SLOW_DOWN). */
export interface DevicePollsTable {
  device_id: string;
  last_polled_at: Date;
}

/**
 * Not a read model: the only copy of each signing key's secret, sealed with KEYLEDGER_SECRETS_KEY,
 * written beside its KeyCreated event (which does not carry it). Replay does not rebuild it.
 */
export interface KeySigningSecretsTable {
  key_id: string;
  sealed: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface ReadModels {
  orgs: OrgsTable;
  api_keys: ApiKeysTable;
  agents: AgentsTable;
  device_authorizations: DeviceAuthorizationsTable;
  api_key_usage: ApiKeyUsageTable;
  device_polls: DevicePollsTable;
  key_signing_secrets: KeySigningSecretsTable;
}

export type OrgRow = Selectable<OrgsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type AgentRow = Selectable<AgentsTable>;
export type DeviceAuthorizationRow = Selectable<DeviceAuthorizationsTable>;

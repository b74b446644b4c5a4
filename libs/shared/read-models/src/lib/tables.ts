import type { Generated, Selectable } from 'kysely';
import type { Environment, Plan, Scope } from '@keyledger/contracts';

/**
 * Read-model tables: written only by the service that owns them (inline, in the same transaction as
 * its events), read by the gateway. Every row can be rebuilt from the event log.
 */
export interface OrgsTable {
  id: string;
  name: string;
  plan: Plan | null;
  created_at: Date;
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
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  /** Log position of the last event applied to this row. */
  version: Generated<number>;
}

export interface ReadModels {
  orgs: OrgsTable;
  api_keys: ApiKeysTable;
}

export type OrgRow = Selectable<OrgsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;

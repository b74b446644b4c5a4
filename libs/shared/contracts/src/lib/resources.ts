/** Public resource shapes of API.md, shared by the services that build them and the gateway. */
export type Environment = 'live' | 'test';
export const ENVIRONMENTS: readonly Environment[] = ['live', 'test'];

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
  '*',
] as const;
export type Scope = (typeof SCOPES)[number];

export const PLANS = ['starter', 'growth', 'business', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export interface OrgView {
  id: string;
  name: string;
  plan: Plan | null;
}

export interface ApiKeyView {
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

/** The creating response only: the plaintext, shown once. */
export interface CreatedApiKeyView extends ApiKeyView {
  key: string;
  signing_secret?: string;
}

export interface CreateOrgRequest {
  name: string;
  plan?: Plan;
  environment: Environment;
}

export interface CreateOrgReply {
  org: OrgView;
  api_key: CreatedApiKeyView;
}

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

export interface AgentView {
  id: string;
  name: string;
  environment: Environment;
  status: 'active' | 'paused' | 'revoked';
  paused_until: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

/** The caller, as the gateway authenticated it, sent along with every key-registry command. */
export interface Caller {
  org_id: string;
  key_id: string;
  environment: Environment;
  scopes: Scope[];
  agent_id: string | null;
}

export interface CreateKeyRequest {
  caller: Caller;
  name?: string | null;
  environment?: Environment;
  scopes?: Scope[];
  agent_id?: string | null;
  expires_at?: string | null;
  signing?: boolean;
  key?: string;
}

export interface KeyTargetRequest {
  caller: Caller;
  key_id: string;
}

export interface UpdateKeyRequest extends KeyTargetRequest {
  name?: string | null;
  scopes?: Scope[];
  expires_at?: string | null;
}

export interface RollKeyRequest extends KeyTargetRequest {
  grace_period_seconds: number;
}

export interface RollKeyReply {
  api_key: CreatedApiKeyView;
  previous: ApiKeyView;
}

export interface LinkKeyRequest {
  caller: Caller;
  key: string;
}

export interface AgentTargetRequest {
  caller: Caller;
  agent_id: string;
}

export interface CreateAgentRequest {
  caller: Caller;
  name: string;
  metadata?: Record<string, unknown>;
}

export interface UpdateAgentRequest extends AgentTargetRequest {
  name?: string;
  metadata?: Record<string, unknown>;
}

export interface PauseAgentRequest extends AgentTargetRequest {
  duration: '15m' | '30m' | '1h' | '4h' | 'indefinite';
}

export interface DeviceAuthorizationView {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface RequestDeviceRequest {
  agent_name: string;
  scopes?: Scope[];
  verification_uri: string;
}

export interface DecideDeviceRequest {
  caller: Caller;
  user_code: string;
  agent_id?: string;
}

export interface RedeemDeviceReply {
  api_key: CreatedApiKeyView;
  agent: AgentView;
}

export interface KeyUsageReport {
  /** key id → ISO time it was last used. */
  used: Record<string, string>;
}

/** Most keys an org may hold at once (active, not expired), by plan; null is unlimited. */
export const PLAN_KEY_LIMITS: Record<Plan | 'none', number | null> = {
  none: 25,
  starter: 25,
  growth: 100,
  business: 1000,
  enterprise: null,
};

export interface CreateOrgRequest {
  name: string;
  plan?: Plan;
  environment: Environment;
}

export interface CreateOrgReply {
  org: OrgView;
  api_key: CreatedApiKeyView;
}

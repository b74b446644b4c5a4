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

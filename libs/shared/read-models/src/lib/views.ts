import type { AgentView, ApiKeyView, OrgView } from '@keyledger/contracts';
import type { AgentRow, ApiKeyRow, OrgRow } from './tables';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function orgView(row: Pick<OrgRow, 'id' | 'name' | 'plan'>): OrgView {
  return { id: row.id, name: row.name, plan: row.plan };
}

/** The public key object of API.md; `status` folds in expiry, which is a matter of time, not events. */
export function apiKeyView(row: ApiKeyRow, now: Date, lastUsedAt: Date | null = null): ApiKeyView {
  const expired = row.expires_at !== null && new Date(row.expires_at) <= now;
  return {
    id: row.id,
    name: row.name,
    key_prefix: row.key_prefix,
    last4: row.last4,
    environment: row.environment,
    scopes: row.scopes,
    agent_id: row.agent_id,
    status: row.status === 'revoked' ? 'revoked' : expired ? 'expired' : 'active',
    claimed: row.claimed,
    signing: row.signing,
    created_at: iso(row.created_at) as string,
    expires_at: iso(row.expires_at),
    last_used_at: iso(lastUsedAt),
  };
}

/** The public agent object; a pause whose time has passed shows as active. */
export function agentView(row: AgentRow, now: Date): AgentView {
  const pauseOver = row.status === 'paused' && row.paused_until !== null && new Date(row.paused_until) <= now;
  return {
    id: row.id,
    name: row.name,
    environment: row.environment,
    status: pauseOver ? 'active' : row.status,
    paused_until: pauseOver ? null : iso(row.paused_until),
    metadata: row.metadata,
    created_at: iso(row.created_at) as string,
  };
}

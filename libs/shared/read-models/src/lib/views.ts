import type { ApiKeyView, OrgView } from '@keyledger/contracts';
import type { ApiKeyRow, OrgRow } from './tables';

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

export function orgView(row: Pick<OrgRow, 'id' | 'name' | 'plan'>): OrgView {
  return { id: row.id, name: row.name, plan: row.plan };
}

/** The public key object of API.md; `status` folds in expiry, which is a matter of time, not events. */
export function apiKeyView(row: ApiKeyRow, now: Date): ApiKeyView {
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
    last_used_at: null,
  };
}

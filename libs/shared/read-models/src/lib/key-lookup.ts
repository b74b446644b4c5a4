import { sql, type Kysely } from 'kysely';
import type { AgentRow, ApiKeyRow, OrgRow, ReadModels } from './tables';

/** What authenticating a key needs: the key, its org, the agent it is bound to (if any), and its sealed signing secret (if a signing key). */
export interface Credential {
  key: ApiKeyRow;
  org: OrgRow;
  agent: AgentRow | null;
  signingSecretSealed: string | null;
}

/** The gateway's authentication query: a key by the SHA-256 of its plaintext, one round trip. */
export async function findCredentialByHash(db: Kysely<ReadModels>, keyHash: string): Promise<Credential | null> {
  const row = await db
    .selectFrom('api_keys as k')
    .innerJoin('orgs as o', 'o.id', 'k.org_id')
    .leftJoin('agents as a', 'a.id', 'k.agent_id')
    .leftJoin('key_signing_secrets as s', 's.key_id', 'k.id')
    .selectAll('k')
    .select([
      'o.name as org_name',
      'o.plan as org_plan',
      'o.sandbox as org_sandbox',
      'o.created_at as org_created_at',
      'o.overrides as org_overrides',
      'a.org_id as agent_org_id',
      'a.environment as agent_environment',
      'a.name as agent_name',
      'a.metadata as agent_metadata',
      'a.status as agent_status',
      'a.paused_until as agent_paused_until',
      'a.created_at as agent_created_at',
      'a.version as agent_version',
      // A key made by a key-registry from before keys migration 0003 has its secret in the read model only.
      sql<string | null>`coalesce(s.sealed, k.signing_secret_sealed)`.as('sealed_signing_secret'),
    ])
    .where('k.key_hash', '=', keyHash)
    .executeTakeFirst();
  if (!row) return null;
  const {
    org_name,
    org_plan,
    org_sandbox,
    org_created_at,
    org_overrides,
    agent_org_id,
    agent_environment,
    agent_name,
    agent_metadata,
    agent_status,
    agent_paused_until,
    agent_created_at,
    agent_version,
    sealed_signing_secret,
    ...key
  } = row;
  const agent: AgentRow | null =
    key.agent_id === null || agent_status === null
      ? null
      : {
          id: key.agent_id,
          org_id: agent_org_id!,
          environment: agent_environment!,
          name: agent_name!,
          metadata: agent_metadata!,
          status: agent_status,
          paused_until: agent_paused_until,
          created_at: agent_created_at!,
          version: agent_version!,
        };
  return {
    key,
    org: { id: key.org_id, name: org_name, plan: org_plan, sandbox: org_sandbox, created_at: org_created_at, overrides: org_overrides },
    agent,
    signingSecretSealed: sealed_signing_secret,
  };
}

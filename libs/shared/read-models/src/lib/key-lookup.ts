import type { Kysely } from 'kysely';
import type { ApiKeyRow, OrgRow, ReadModels } from './tables';

export interface KeyWithOrg {
  key: ApiKeyRow;
  org: OrgRow;
}

/** The gateway's authentication query: a key by the SHA-256 of its plaintext, with its org. */
export async function findKeyByHash(db: Kysely<ReadModels>, keyHash: string): Promise<KeyWithOrg | null> {
  const row = await db
    .selectFrom('api_keys as k')
    .innerJoin('orgs as o', 'o.id', 'k.org_id')
    .selectAll('k')
    .select(['o.name as org_name', 'o.plan as org_plan', 'o.created_at as org_created_at'])
    .where('k.key_hash', '=', keyHash)
    .executeTakeFirst();
  if (!row) return null;
  const { org_name, org_plan, org_created_at, ...key } = row;
  return { key, org: { id: key.org_id, name: org_name, plan: org_plan, created_at: org_created_at } };
}

import type { Kysely } from 'kysely';
import type { Environment } from '@keyledger/contracts';
import { PageCursor } from './pagination';
import type { AgentRow, ApiKeyRow, ReadModels } from './tables';

/** Who may see what: an org and environment, and for agent-bound keys only that agent. */
export interface Visibility {
  orgId: string;
  environment: Environment;
  agentId: string | null;
}

export async function listKeys(
  db: Kysely<ReadModels>,
  scope: Visibility,
  filter: { status?: 'active' | 'expired' | 'revoked'; agentId?: string },
  cursor: PageCursor | null,
  limit: number,
  now: Date,
): Promise<(ApiKeyRow & { last_used_at: Date | null })[]> {
  let query = db
    .selectFrom('api_keys as k')
    .leftJoin('api_key_usage as u', 'u.key_id', 'k.id')
    .selectAll('k')
    .select('u.last_used_at')
    .where('k.org_id', '=', scope.orgId)
    .where('k.environment', '=', scope.environment);
  if (scope.agentId !== null) query = query.where('k.agent_id', '=', scope.agentId);
  if (filter.agentId !== undefined) query = query.where('k.agent_id', '=', filter.agentId);
  if (filter.status === 'revoked') query = query.where('k.status', '=', 'revoked');
  if (filter.status === 'expired') query = query.where('k.status', '=', 'active').where('k.expires_at', '<=', now);
  if (filter.status === 'active') {
    query = query.where('k.status', '=', 'active').where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', now)]));
  }
  if (cursor) {
    query = query.where((eb) =>
      eb.or([eb('k.created_at', '<', cursor.createdAt), eb.and([eb('k.created_at', '=', cursor.createdAt), eb('k.id', '<', cursor.id)])]),
    );
  }
  return query.orderBy('k.created_at', 'desc').orderBy('k.id', 'desc').limit(limit + 1).execute();
}

export async function findKey(db: Kysely<ReadModels>, scope: Visibility, keyId: string) {
  let query = db
    .selectFrom('api_keys as k')
    .leftJoin('api_key_usage as u', 'u.key_id', 'k.id')
    .selectAll('k')
    .select('u.last_used_at')
    .where('k.id', '=', keyId)
    .where('k.org_id', '=', scope.orgId)
    .where('k.environment', '=', scope.environment);
  if (scope.agentId !== null) query = query.where('k.agent_id', '=', scope.agentId);
  return (await query.executeTakeFirst()) ?? null;
}

export async function listAgents(
  db: Kysely<ReadModels>,
  scope: Visibility,
  cursor: PageCursor | null,
  limit: number,
): Promise<AgentRow[]> {
  let query = db.selectFrom('agents').selectAll().where('org_id', '=', scope.orgId).where('environment', '=', scope.environment);
  if (scope.agentId !== null) query = query.where('id', '=', scope.agentId);
  if (cursor) {
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', cursor.createdAt), eb.and([eb('created_at', '=', cursor.createdAt), eb('id', '<', cursor.id)])]),
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
}

export async function findAgent(db: Kysely<ReadModels>, scope: Visibility, agentId: string): Promise<AgentRow | null> {
  if (scope.agentId !== null && scope.agentId !== agentId) return null;
  const row = await db
    .selectFrom('agents')
    .selectAll()
    .where('id', '=', agentId)
    .where('org_id', '=', scope.orgId)
    .where('environment', '=', scope.environment)
    .executeTakeFirst();
  return row ?? null;
}

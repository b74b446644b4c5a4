import { Kysely, sql } from 'kysely';
import type { Visibility } from './keys-queries';

/** An event as `GET /v1/audit/events` and the export show it. */
export interface AuditEventView {
  position: number;
  stream: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  recorded_at: string;
  hash: string | null;
  prev_hash: string | null;
}

export interface AuditEventFilter {
  /** Events after this position. */
  after: number;
  type?: string;
  agentId?: string;
}

interface AuditEventRow {
  position: number;
  stream: string;
  stream_version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  recorded_at: Date;
  hash: Buffer | null;
  prev_hash: Buffer | null;
}

export function auditEventView(row: AuditEventRow): AuditEventView {
  return {
    position: row.position,
    stream: row.stream,
    stream_version: row.stream_version,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recorded_at: row.recorded_at.toISOString(),
    hash: row.hash ? row.hash.toString('hex') : null,
    prev_hash: row.prev_hash ? row.prev_hash.toString('hex') : null,
  };
}

/**
 * The caller's organization's events of its environment (org-wide events, which name no
 * environment, are in both), by position. An agent-bound key sees only its agent's events.
 */
export async function listAuditEvents(db: Kysely<any>, visibility: Visibility, filter: AuditEventFilter, limit: number): Promise<AuditEventRow[]> {
  const agentId = visibility.agentId ?? filter.agentId ?? null;
  const result = await sql<AuditEventRow>`
    select position, stream, stream_version, type, data, metadata, recorded_at, hash, prev_hash
    from events
    where org_id = ${visibility.orgId}
      and position > ${filter.after}
      and coalesce(metadata->>'environment', ${visibility.environment}) = ${visibility.environment}
      ${filter.type ? sql`and type = ${filter.type}` : sql``}
      ${agentId ? sql`and (metadata->>'agent_id' = ${agentId} or data->>'agent_id' = ${agentId})` : sql``}
    order by position
    limit ${limit}`.execute(db);
  return result.rows;
}

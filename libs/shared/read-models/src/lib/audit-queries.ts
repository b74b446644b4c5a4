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
    select position, stream, stream_version, type, data, metadata, recorded_at, c.hash, c.prev_hash
    from events left join audit_chain c using (position)
    where org_id = ${visibility.orgId}
      and position > ${filter.after}
      and coalesce(metadata->>'environment', ${visibility.environment}) = ${visibility.environment}
      ${filter.type ? sql`and type = ${filter.type}` : sql``}
      ${agentId ? sql`and (metadata->>'agent_id' = ${agentId} or data->>'agent_id' = ${agentId})` : sql``}
    order by position
    limit ${limit}`.execute(db);
  return result.rows;
}

export interface AttestationRow {
  id: string;
  agent_id: string;
  spend_id: string | null;
  statement: Record<string, unknown>;
  mismatches: { field: string; claimed: unknown; actual: unknown }[];
  position: number;
  created_at: Date;
  hash: Buffer | null;
}

export function attestationView(row: AttestationRow) {
  return {
    id: row.id,
    agent_id: row.agent_id,
    spend_id: row.spend_id,
    statement: row.statement,
    mismatches: row.mismatches,
    hash: row.hash ? row.hash.toString('hex') : null,
    position: row.position,
    created_at: row.created_at.toISOString(),
  };
}

/**
 * The caller's attestations (an agent key: its agent's), newest first, with the chain hash of each.
 * An attestation made for an existing spend names it itself; one whose claim a spend was then made
 * under (`POST /v1/spends` with `attestation`) gets that spend and its mismatches from the spends
 * read model, which the spend's own event filled. Both tables come from the log, so replay rebuilds this.
 */
export async function listAttestations(
  db: Kysely<any>,
  visibility: Visibility,
  agentId: string | null,
  cursor: { createdAt: Date; id: string } | null,
  limit: number,
): Promise<AttestationRow[]> {
  const agent = visibility.agentId ?? agentId;
  const result = await sql<AttestationRow>`
    select a.id, a.agent_id, coalesce(a.spend_id, s.id) as spend_id, a.statement,
           case when a.spend_id is null and s.id is not null then coalesce(s.attestation_mismatches, '[]'::jsonb) else a.mismatches end as mismatches,
           a.position, a.created_at, c.hash
    from attestations a
    left join lateral (
      select id, attestation_mismatches from spends where spends.attestation_id = a.id order by created_at, id limit 1
    ) s on true
    left join audit_chain c on c.position = a.position
    where a.org_id = ${visibility.orgId} and a.environment = ${visibility.environment}
      ${agent ? sql`and a.agent_id = ${agent}` : sql``}
      ${cursor ? sql`and (a.created_at, a.id) < (${cursor.createdAt}, ${cursor.id})` : sql``}
    order by a.created_at desc, a.id desc
    limit ${limit + 1}`.execute(db);
  return result.rows;
}

/**
 * One of the caller's attestations (an agent key: its agent's), with the spend it is linked to, if
 * any: named by the attestation itself, or a spend made under it.
 */
export async function findAttestation(db: Kysely<any>, visibility: Visibility, attestationId: string): Promise<AttestationRow | null> {
  const result = await sql<AttestationRow>`
    select a.id, a.agent_id, coalesce(a.spend_id, s.id) as spend_id, a.statement, a.mismatches, a.position, a.created_at, null::bytea as hash
    from attestations a
    left join lateral (select id from spends where spends.attestation_id = a.id limit 1) s on true
    where a.id = ${attestationId} and a.org_id = ${visibility.orgId} and a.environment = ${visibility.environment}
      ${visibility.agentId ? sql`and a.agent_id = ${visibility.agentId}` : sql``}`.execute(db);
  return result.rows[0] ?? null;
}

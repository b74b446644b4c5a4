import { Kysely, sql } from 'kysely';
import { LOG_START, LogCheckpoint } from '@keyledger/event-store';
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
  /** Events after this place in log order (LOG_START: from the beginning). */
  after: LogCheckpoint;
  type?: string;
  agentId?: string;
}

export interface AuditEventRow {
  position: number;
  transaction_id: string;
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
 * Where the event at `position` stands in log order (0: the start of the log), so a listing can
 * resume right after it; null unless the caller may see that event (its organization, its
 * environment, an agent key's agent), so a refusal tells nothing about anyone else's events — and
 * unless the listing already shows it: an event past the gap-safe horizon (a position just
 * returned by a write, say) may still have events of older transactions coming before it, which a
 * listing resumed after it would never show.
 */
export async function auditEventPlace(db: Kysely<any>, visibility: Visibility, position: number): Promise<LogCheckpoint | null> {
  if (position === 0) return LOG_START;
  const result = await sql<{ transaction_id: string }>`
    select transaction_id from events
    where position = ${position} and ${visibleTo(visibility)} and transaction_id < pg_snapshot_xmin(pg_current_snapshot())`.execute(db);
  return result.rows[0] ? { transactionId: result.rows[0].transaction_id, position } : null;
}

/** An event about an agent: done by it (metadata) or naming it (data). */
function aboutAgent(agentId: string) {
  return sql`(metadata->>'agent_id' = ${agentId} or data->>'agent_id' = ${agentId})`;
}

/**
 * The events a caller sees: its organization's, of its environment (org-wide events, which name no
 * environment, are in both); an agent-bound key only its agent's.
 */
function visibleTo(visibility: Visibility) {
  return sql`org_id = ${visibility.orgId}
    and coalesce(metadata->>'environment', ${visibility.environment}) = ${visibility.environment}
    ${visibility.agentId ? sql`and ${aboutAgent(visibility.agentId)}` : sql``}`;
}

/**
 * The events the caller sees (visibleTo) after `filter.after`, in log order and gap-safe as
 * readLogAfter reads: positions are taken at insert but seen at commit, so paging by position alone
 * would pass over an event whose transaction commits late. Events of transactions some
 * still-running transaction precedes are held back until it ends; nothing can then appear behind a
 * page already read. An `agentId` filter narrows an agent key's view further, never widens it.
 */
export async function listAuditEvents(db: Kysely<any>, visibility: Visibility, filter: AuditEventFilter, limit: number): Promise<AuditEventRow[]> {
  // events_org_log_order (org_id, transaction_id) finds the page from the org and the transaction
  // on; the row comparison then drops what comes before `after` within its transaction.
  const result = await sql<AuditEventRow>`
    select e.position, e.transaction_id, stream, stream_version, type, data, metadata, recorded_at, c.hash, c.prev_hash
    from events e left join audit_chain c on c.position = e.position
    where ${visibleTo(visibility)}
      and e.transaction_id >= ${filter.after.transactionId}::xid8
      and (e.transaction_id, e.position) > (${filter.after.transactionId}::xid8, ${filter.after.position}::bigint)
      and e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      ${filter.type ? sql`and type = ${filter.type}` : sql``}
      ${filter.agentId ? sql`and ${aboutAgent(filter.agentId)}` : sql``}
    order by e.transaction_id, e.position
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
 * The caller's attestations (an agent key: its agent's; `agentId` narrows that, never widens it),
 * newest first, with the chain hash of each.
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
      ${visibility.agentId ? sql`and a.agent_id = ${visibility.agentId}` : sql``}
      ${agentId ? sql`and a.agent_id = ${agentId}` : sql``}
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

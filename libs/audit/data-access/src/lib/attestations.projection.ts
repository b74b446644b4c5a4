import type { Kysely, Transaction } from 'kysely';
import type { AttestationEvent } from '@keyledger/audit-domain';
import { ProjectedEvent, projectRows, ProjectRowsOptions, RowProjection } from '@keyledger/event-store';

/** audit-attestation's read-model tables: what replay rebuilds and compares. */
export const AUDIT_READ_MODEL_TABLES = ['attestations'] as const;

export interface AttestationsTable {
  id: string;
  org_id: string;
  environment: 'live' | 'test';
  agent_id: string;
  spend_id: string | null;
  statement: Record<string, unknown>;
  mismatches: AttestationEvent['data']['mismatches'];
  position: number;
  created_at: Date;
  version: number;
}

interface AttestationTables {
  attestations: AttestationsTable;
}

/**
 * Attestation events as rows of the attestations table: inline, in the append's transaction, and on
 * replay from the log. Other event types change nothing.
 */
export const auditProjection: RowProjection<AttestationTables> = {
  tables: { attestations: ['id'] },
  apply(stored, rows) {
    if (stored.type !== 'AttestationRecorded') return;
    const a = (stored as unknown as AttestationEvent).data;
    rows.insert('attestations', {
      id: a.attestation_id,
      org_id: a.org_id,
      environment: a.environment,
      agent_id: a.agent_id,
      spend_id: a.spend_id,
      statement: a.statement,
      mismatches: a.mismatches,
      position: stored.position,
      created_at: a.recorded_at,
      version: stored.position,
    });
  },
};

/** Applies attestation events to the attestations table: `auditProjection`, loaded and written in one batch. */
export function projectAuditEvents(trx: Transaction<any> | Kysely<any>, events: readonly ProjectedEvent[], options?: ProjectRowsOptions): Promise<void> {
  return projectRows(trx, auditProjection, events, options);
}

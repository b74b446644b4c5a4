import type { Kysely, Transaction } from 'kysely';
import type { AttestationEvent } from '@keyledger/audit-domain';
import type { EventRow } from '@keyledger/event-store';

/** audit-attestation's read-model tables: what replay rebuilds and compares. */
export const AUDIT_READ_MODEL_TABLES = ['attestations'] as const;

/**
 * Applies attestation events to the attestations table: inline, in the append's transaction, and
 * on replay from the log. Other event types are skipped.
 */
export async function projectAuditEvents(trx: Transaction<any> | Kysely<any>, events: readonly Pick<EventRow, 'type' | 'data' | 'position'>[]): Promise<void> {
  for (const stored of events) {
    if (stored.type !== 'AttestationRecorded') continue;
    const a = (stored as unknown as AttestationEvent).data;
    await trx
      .insertInto('attestations')
      .values({
        id: a.attestation_id,
        org_id: a.org_id,
        environment: a.environment,
        agent_id: a.agent_id,
        spend_id: a.spend_id,
        statement: JSON.stringify(a.statement),
        mismatches: JSON.stringify(a.mismatches),
        position: stored.position,
        created_at: new Date(a.recorded_at),
        version: stored.position,
      })
      .execute();
  }
}

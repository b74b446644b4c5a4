import { Injectable } from '@nestjs/common';
import type { AttestationView, CommandMeta, CreateAttestationRequest } from '@keyledger/contracts';
import { AttestationEvent, attestationDecider, attestationStream, newAttestationId } from '@keyledger/audit-domain';
import type { EventRow } from '@keyledger/event-store';
import { CommandRunner, eventMetadata, idempotencyKeyUsedElsewhere } from '@keyledger/nest';

@Injectable()
export class AttestationsService {
  constructor(private readonly runner: CommandRunner) {}

  /**
   * Records what the agent claimed as an event (and in the attestations table, inline). A retry
   * with the same Idempotency-Key (the claim of `POST /v1/attestations`, or of an attested spend,
   * whose answer was lost) gets the attestation the first run recorded, not a second one.
   */
  async record(request: CreateAttestationRequest, meta: CommandMeta, now = new Date()): Promise<AttestationView> {
    const { caller } = request;
    const attestationId = newAttestationId();
    const once = {
      meta,
      orgId: caller.org_id,
      replay: async (_trx: unknown, earlier: readonly EventRow[]) => {
        const recorded = earlier.find((e) => e.type === 'AttestationRecorded');
        if (!recorded) idempotencyKeyUsedElsewhere();
        return attestationView(recorded);
      },
    };
    return this.runner.run(async (uow) => {
      const { events } = await uow.execute(
        attestationDecider,
        attestationStream(attestationId),
        {
          type: 'RecordAttestation',
          data: { attestation_id: attestationId, org_id: caller.org_id, environment: caller.environment, agent_id: request.agent_id, spend: request.spend, statement: request.statement, now: now.toISOString() },
        },
        { metadata: eventMetadata(meta, { environment: caller.environment, agent_id: request.agent_id }), orgId: caller.org_id },
      );
      const row = await uow.trx.selectFrom('attestations').select(['position']).where('id', '=', attestationId).executeTakeFirstOrThrow();
      return attestationView({ position: row.position, data: events[0].data });
    }, once);
  }
}

/** The answer to recording an attestation, from its AttestationRecorded event (the chain hash comes later). */
function attestationView(event: { position: number; data: unknown }): AttestationView {
  const recorded = event.data as AttestationEvent['data'];
  return {
    id: recorded.attestation_id,
    agent_id: recorded.agent_id,
    spend_id: recorded.spend_id,
    statement: recorded.statement,
    mismatches: recorded.mismatches,
    hash: null,
    position: event.position,
    created_at: recorded.recorded_at,
  };
}

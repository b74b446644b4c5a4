import { Injectable } from '@nestjs/common';
import type { AttestationView, CommandMeta, CreateAttestationRequest } from '@keyledger/contracts';
import { attestationDecider, attestationStream, newAttestationId } from '@keyledger/audit-domain';
import { CommandRunner, eventMetadata } from '@keyledger/nest';

@Injectable()
export class AttestationsService {
  constructor(private readonly runner: CommandRunner) {}

  /** Records what the agent claimed as an event (and in the attestations table, inline). */
  async record(request: CreateAttestationRequest, meta: CommandMeta, now = new Date()): Promise<AttestationView> {
    const { caller } = request;
    const attestationId = newAttestationId();
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
      const recorded = events[0].data;
      return {
        id: attestationId,
        agent_id: recorded.agent_id,
        spend_id: recorded.spend_id,
        statement: recorded.statement,
        mismatches: recorded.mismatches,
        hash: null,
        position: row.position,
        created_at: recorded.recorded_at,
      };
    });
  }
}

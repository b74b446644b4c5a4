import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AttestationView, AuditSubjects, CommandMeta, CreateAttestationRequest } from '@keyledger/contracts';
import { ApiError, Auth, callerOf, CurrentKey, KeyPrincipal, pageCursor, RequestMeta, Schemas, ServiceClients, visibilityOf, ZodPipe } from '@keyledger/gateway-http';
import { DB } from '@keyledger/nest';
import { attestationView, BudgetReadModels, findAgent, findSpend, listAttestations, ReadModels, toPage } from '@keyledger/read-models';

export const CreateAttestationBody = z.strictObject({
  agent_id: Schemas.id('agt').optional(),
  statement: z.record(z.string().max(100), z.unknown()).refine((s) => JSON.stringify(s).length <= 16_384, 'must be at most 16 KiB of JSON'),
  spend_id: Schemas.id('spd').optional(),
});
export const ListAttestationsQuery = z.strictObject({ ...Schemas.listQuery, agent_id: Schemas.id('agt').optional() });

@Controller('v1/attestations')
export class AttestationsController {
  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<ReadModels>,
  ) {}

  @Post()
  @HttpCode(201)
  @Auth.key('spend:write')
  async create(
    @Body(new ZodPipe(CreateAttestationBody)) body: z.infer<typeof CreateAttestationBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<AttestationView> {
    const visibility = visibilityOf(principal);
    // Attesting a spend already made: it must be one the caller sees (else 404, as any other resource).
    const spend = body.spend_id ? await findSpend(this.db as Kysely<BudgetReadModels>, visibility, body.spend_id) : null;
    if (body.spend_id && !spend) throw new ApiError('NOT_FOUND', 'no such spend');
    const agentId = body.agent_id ?? principal.key.agent_id ?? spend?.agent_id ?? null;
    if (!agentId) throw new ApiError('VALIDATION_ERROR', 'agent_id is required for a key not bound to an agent', { fields: [{ field: 'agent_id', message: 'is required' }] });
    if (!(await findAgent(this.db, visibility, agentId))) throw new ApiError('NOT_FOUND', 'no such agent');
    if (spend && spend.agent_id !== agentId) {
      throw new ApiError('VALIDATION_ERROR', 'the spend was made by another agent', { fields: [{ field: 'spend_id', message: 'is a spend of another agent' }] });
    }
    const request: CreateAttestationRequest = {
      caller: callerOf(principal),
      agent_id: agentId,
      statement: body.statement,
      spend: spend ? { id: spend.id, amount: spend.amount, merchant: spend.merchant } : null,
    };
    return this.services.auditAttestation.send(AuditSubjects.createAttestation, request, meta);
  }

  @Get()
  @Auth.key('audit:read')
  async list(@Query(new ZodPipe(ListAttestationsQuery)) query: z.infer<typeof ListAttestationsQuery>, @CurrentKey() principal: KeyPrincipal) {
    const rows = await listAttestations(this.db, visibilityOf(principal), query.agent_id ?? null, pageCursor(query.cursor), query.limit);
    return toPage(rows, query.limit, attestationView);
  }
}

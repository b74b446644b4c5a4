import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AttestationView, AuditSubjects, BudgetSubjects, CommandMeta, CreateAttestationRequest, CreateSpendRequest, SPEND_STATUSES, SpendAttestationClaim, SpendView } from '@keyledger/contracts';
import {
  ApiError,
  Auth,
  callerOf,
  CurrentKey,
  IdPipe,
  KeyPrincipal,
  pageCursor,
  RequestMeta,
  Schemas,
  ServiceClients,
  visibilityOf,
  ZodPipe,
} from '@keyledger/gateway-http';
import { DB } from '@keyledger/nest';
import { BudgetReadModels, findAgent, findAttestation, findSpend, listSpends, ReadModels, spendView, toPage } from '@keyledger/read-models';
import { Money } from './money.schemas';

export const Attestation = z.strictObject({
  purpose: z.string().trim().min(1).max(1000),
  expected_amount: Money.amount.optional(),
  merchant: z.string().trim().min(1).max(200).optional(),
  claims: z
    .record(z.string().max(100), z.unknown())
    .refine((c) => JSON.stringify(c).length <= 16_384, 'must be at most 16 KiB of JSON')
    .optional(),
});
export const SpendBody = z.strictObject({
  agent_id: Schemas.id('agt').optional(),
  amount: Money.amount,
  currency: Money.currency,
  merchant: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(1000).optional(),
  capture: z.boolean().optional(),
  attestation: Attestation.optional(),
  attestation_id: Schemas.id('att').optional().describe('an attestation recorded before (POST /v1/attestations), instead of `attestation`'),
});
export const AmountBody = z.strictObject({ amount: Money.amount.optional() });
export const NoBody = z.strictObject({});
export const ListSpendsQuery = z.strictObject({ ...Schemas.listQuery, agent_id: Schemas.id('agt').optional(), status: z.enum(SPEND_STATUSES).optional() });
const SpendId = new IdPipe('spd');

@Controller('v1/spends')
export class SpendsController {
  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<BudgetReadModels>,
  ) {}

  @Post()
  @HttpCode(201)
  @Auth.key('spend:write')
  async create(
    @Body(new ZodPipe(SpendBody)) body: z.infer<typeof SpendBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<SpendView> {
    const request: CreateSpendRequest = { ...body, caller: callerOf(principal) };
    if (body.attestation && body.attestation_id) {
      throw new ApiError('VALIDATION_ERROR', 'give either attestation or attestation_id', { fields: [{ field: 'attestation_id', message: 'cannot go with attestation' }] });
    }
    if (body.attestation) request.attestation_id = await this.recordClaim(body, body.attestation, principal, meta);
    if (body.attestation_id) Object.assign(request, await this.recordedClaim(body, body.attestation_id, principal));
    return this.services.budgetLedger.send(BudgetSubjects.createSpend, request, meta);
  }

  /**
   * A spend under an attestation recorded before (attest, then spend): the attestation's statement
   * is the claim the ledger compares the spend with. One attestation, one spend.
   */
  private async recordedClaim(body: z.infer<typeof SpendBody>, attestationId: string, principal: KeyPrincipal) {
    const recorded = await findAttestation(this.db, visibilityOf(principal), attestationId);
    if (!recorded) throw new ApiError('NOT_FOUND', 'no such attestation');
    const agentId = body.agent_id ?? principal.key.agent_id ?? recorded.agent_id;
    if (recorded.agent_id !== agentId) {
      throw new ApiError('VALIDATION_ERROR', 'the attestation is another agent’s', { fields: [{ field: 'attestation_id', message: 'is an attestation of another agent' }] });
    }
    if (recorded.spend_id !== null) throw new ApiError('CONFLICT', `this attestation is already linked to spend ${recorded.spend_id}`, { spend_id: recorded.spend_id });
    const { purpose, expected_amount, merchant, ...claims } = recorded.statement;
    const attestation: SpendAttestationClaim = {
      purpose: typeof purpose === 'string' ? purpose : '',
      ...(typeof expected_amount === 'number' ? { expected_amount } : {}),
      ...(typeof merchant === 'string' ? { merchant } : {}),
      ...(Object.keys(claims).length > 0 ? { claims } : {}),
    };
    return { agent_id: agentId, attestation, attestation_id: recorded.id };
  }

  /**
   * The claim of an attested spend is recorded first, as an attestation (the intent); the ledger's
   * decision then names it, and the spend event records where the spend differs from it.
   */
  private async recordClaim(
    body: z.infer<typeof SpendBody>,
    claim: NonNullable<z.infer<typeof SpendBody>['attestation']>,
    principal: KeyPrincipal,
    meta: CommandMeta,
  ): Promise<string | undefined> {
    const agentId = body.agent_id ?? principal.key.agent_id;
    // No agent named: the ledger refuses the spend (VALIDATION_ERROR) and there is nothing to attest.
    if (!agentId) return undefined;
    if (!(await findAgent(this.db as unknown as Kysely<ReadModels>, visibilityOf(principal), agentId))) throw new ApiError('NOT_FOUND', 'no such agent');
    const request: CreateAttestationRequest = { caller: callerOf(principal), agent_id: agentId, statement: { ...claim }, spend: null };
    const attestation = await this.services.auditAttestation.send<AttestationView>(AuditSubjects.createAttestation, request, meta);
    return attestation.id;
  }

  @Get()
  @Auth.key('spend:read')
  async list(@Query(new ZodPipe(ListSpendsQuery)) query: z.infer<typeof ListSpendsQuery>, @CurrentKey() principal: KeyPrincipal) {
    const rows = await listSpends(
      this.db,
      visibilityOf(principal),
      { agentId: query.agent_id, status: query.status },
      pageCursor(query.cursor),
      query.limit,
    );
    return toPage(rows, query.limit, spendView);
  }

  @Get(':id')
  @Auth.key('spend:read')
  async get(@Param('id', SpendId) id: string, @CurrentKey() principal: KeyPrincipal): Promise<SpendView> {
    const row = await findSpend(this.db, visibilityOf(principal), id);
    if (!row) throw new ApiError('NOT_FOUND', 'no such spend');
    return spendView(row);
  }

  @Post(':id/capture')
  @HttpCode(200)
  @Auth.key('spend:write')
  capture(
    @Param('id', SpendId) id: string,
    @Body(new ZodPipe(AmountBody)) body: z.infer<typeof AmountBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<SpendView> {
    return this.services.budgetLedger.send(BudgetSubjects.captureSpend, { ...body, spend_id: id, caller: callerOf(principal) }, meta);
  }

  @Post(':id/release')
  @HttpCode(200)
  @Auth.key('spend:write')
  release(
    @Param('id', SpendId) id: string,
    @Body(new ZodPipe(NoBody)) _body: z.infer<typeof NoBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<SpendView> {
    return this.services.budgetLedger.send(BudgetSubjects.releaseSpend, { spend_id: id, caller: callerOf(principal) }, meta);
  }

  @Post(':id/refund')
  @HttpCode(200)
  @Auth.key('spend:write')
  refund(
    @Param('id', SpendId) id: string,
    @Body(new ZodPipe(AmountBody)) body: z.infer<typeof AmountBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<SpendView> {
    return this.services.budgetLedger.send(BudgetSubjects.refundSpend, { ...body, spend_id: id, caller: callerOf(principal) }, meta);
  }
}

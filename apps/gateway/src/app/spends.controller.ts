import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { BudgetSubjects, CommandMeta, SPEND_STATUSES, SpendView } from '@keyledger/contracts';
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
import { BudgetReadModels, findSpend, listSpends, spendView, toPage } from '@keyledger/read-models';
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
  create(
    @Body(new ZodPipe(SpendBody)) body: z.infer<typeof SpendBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<SpendView> {
    return this.services.budgetLedger.send(BudgetSubjects.createSpend, { ...body, caller: callerOf(principal) }, meta);
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

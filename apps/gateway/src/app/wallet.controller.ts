import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { BalanceView, BudgetSubjects, CommandMeta, WalletView } from '@keyledger/contracts';
import { Auth, callerOf, CurrentKey, KeyPrincipal, RequestMeta, ServiceClients, visibilityOf, ZodPipe } from '@keyledger/gateway-http';
import { DB } from '@keyledger/nest';
import { BudgetReadModels, listWallets, walletView } from '@keyledger/read-models';
import { Money } from './money.schemas';

export const DepositBody = z.strictObject({ amount: Money.amount, currency: Money.currency });

@Controller('v1/wallet')
export class WalletController {
  constructor(
    private readonly services: ServiceClients,
    @Inject(DB) private readonly db: Kysely<BudgetReadModels>,
  ) {}

  @Get()
  @Auth.key('wallet:read')
  async get(@CurrentKey() principal: KeyPrincipal): Promise<WalletView> {
    return walletView(await listWallets(this.db, visibilityOf(principal)));
  }

  @Post('deposits')
  @HttpCode(201)
  @Auth.key('wallet:write')
  deposit(
    @Body(new ZodPipe(DepositBody)) body: z.infer<typeof DepositBody>,
    @CurrentKey() principal: KeyPrincipal,
    @RequestMeta() meta: CommandMeta,
  ): Promise<{ balance: BalanceView }> {
    return this.services.budgetLedger.send(BudgetSubjects.deposit, { ...body, caller: callerOf(principal) }, meta);
  }
}

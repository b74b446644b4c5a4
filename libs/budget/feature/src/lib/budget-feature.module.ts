import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { projectBudgetEvents } from '@keyledger/budget-data-access';
import { CommandRunner, INLINE_PROJECTION, InfrastructureModule, pingController, PUBLISH_ON_COMMIT } from '@keyledger/nest';
import { LedgerController } from './ledger.controller';
import { AgentRevocationProcessor, HoldExpirySweep, LEDGER_CLOCK } from './ledger.processors';
import { LedgerService } from './ledger.service';
import { WalletBatcher } from './wallet-batcher';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.budgetLedger, outboxRelay: true })],
  controllers: [LedgerController, pingController(Services.budgetLedger)],
  providers: [
    { provide: INLINE_PROJECTION, useValue: projectBudgetEvents },
    // No one waits on wallet and budget events (gateways cache keys, not balances): the outbox relay
    // publishes them, and a batch's reply does not wait on a NATS round trip inside the wallet's turn.
    { provide: PUBLISH_ON_COMMIT, useValue: false },
    { provide: LEDGER_CLOCK, useValue: () => new Date() },
    CommandRunner,
    WalletBatcher,
    LedgerService,
    HoldExpirySweep,
    AgentRevocationProcessor,
  ],
})
export class BudgetFeatureModule {}

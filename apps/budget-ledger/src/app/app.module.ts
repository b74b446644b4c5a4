import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { InfrastructureModule, pingController } from '@keyledger/nest';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.budgetLedger, outboxRelay: true })],
  controllers: [pingController(Services.budgetLedger)],
})
export class BudgetLedgerModule {}

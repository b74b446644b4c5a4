import 'reflect-metadata';
import { Services } from '@keyledger/contracts';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';
import { BudgetLedgerModule } from './app/app.module';

bootstrapMicroservice({ service: Services.budgetLedger, module: BudgetLedgerModule, migrations: [] }).catch(
  exitOnStartupError(Services.budgetLedger),
);

import 'reflect-metadata';
import { Services } from '@keyledger/contracts';
import { budgetMigrations } from '@keyledger/budget-data-access';
import { BudgetFeatureModule } from '@keyledger/budget-feature';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';

bootstrapMicroservice({ service: Services.budgetLedger, module: BudgetFeatureModule, migrations: [budgetMigrations] }).catch(
  exitOnStartupError(Services.budgetLedger),
);

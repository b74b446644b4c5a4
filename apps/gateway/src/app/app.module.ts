import { Module } from '@nestjs/common';
import { GatewayCoreModule } from '@keyledger/gateway-http';
import { AgentsController } from './agents.controller';
import { AuditController } from './audit.controller';
import { AttestationsController } from './attestations.controller';
import { ApiKeysController } from './api-keys.controller';
import { DeviceController } from './device.controller';
import { DocsController } from './docs.controller';
import { OrgsController } from './orgs.controller';
import { WhoamiController } from './whoami.controller';
import { WalletController } from './wallet.controller';
import { BudgetsController } from './budgets.controller';
import { SpendsController } from './spends.controller';

@Module({
  imports: [GatewayCoreModule],
  controllers: [
    OrgsController,
    ApiKeysController,
    AgentsController,
    DeviceController,
    WhoamiController,
    WalletController,
    BudgetsController,
    SpendsController,
    AuditController,
    AttestationsController,
    DocsController,
  ],
})
export class AppModule {}

import { Module } from '@nestjs/common';
import { GatewayCoreModule } from '@keyledger/gateway-http';
import { AgentsController } from './agents.controller';
import { AuditController } from './audit.controller';
import { AttestationsController } from './attestations.controller';
import { ApiKeysController } from './api-keys.controller';
import { DeviceController } from './device.controller';
import { OrgsController } from './orgs.controller';
import { WhoamiController } from './whoami.controller';

@Module({
  imports: [GatewayCoreModule],
  controllers: [OrgsController, ApiKeysController, AgentsController, DeviceController, WhoamiController, AuditController, AttestationsController],
})
export class AppModule {}

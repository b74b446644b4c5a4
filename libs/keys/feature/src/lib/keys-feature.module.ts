import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { InfrastructureModule, pingController } from '@keyledger/nest';
import { KeyRegistryController } from './key-registry.controller';
import { KeyRegistryService } from './key-registry.service';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.keyRegistry, outboxRelay: true })],
  controllers: [KeyRegistryController, pingController(Services.keyRegistry)],
  providers: [KeyRegistryService],
})
export class KeysFeatureModule {}

import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { InfrastructureModule, pingController } from '@keyledger/nest';
import { AgentsService, AutoResumeSweep } from './agents.service';
import { CommandRunner } from './command-runner';
import { DeviceAuthorizationService } from './device-authorization.service';
import { KeyRegistryController } from './key-registry.controller';
import { KeyRegistryService } from './key-registry.service';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.keyRegistry, outboxRelay: true })],
  controllers: [KeyRegistryController, pingController(Services.keyRegistry)],
  providers: [CommandRunner, KeyRegistryService, AgentsService, AutoResumeSweep, DeviceAuthorizationService],
})
export class KeysFeatureModule {}

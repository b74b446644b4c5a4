import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { CommandRunner, INLINE_PROJECTION, InfrastructureModule, pingController } from '@keyledger/nest';
import { projectKeyEvents } from '@keyledger/keys-data-access';
import { AgentsService, AutoResumeSweep } from './agents.service';
import { DeviceAuthorizationService } from './device-authorization.service';
import { KeyRegistryController } from './key-registry.controller';
import { KeyRegistryService } from './key-registry.service';
import { OrgPlansService } from './org-plans.service';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.keyRegistry, outboxRelay: true })],
  controllers: [KeyRegistryController, pingController(Services.keyRegistry)],
  providers: [
    { provide: INLINE_PROJECTION, useValue: projectKeyEvents },
    CommandRunner, KeyRegistryService, AgentsService, AutoResumeSweep, DeviceAuthorizationService,
    OrgPlansService],
})
export class KeysFeatureModule {}

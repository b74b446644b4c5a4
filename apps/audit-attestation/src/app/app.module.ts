import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { InfrastructureModule, pingController } from '@keyledger/nest';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.auditAttestation, outboxRelay: true })],
  controllers: [pingController(Services.auditAttestation)],
})
export class AuditAttestationModule {}

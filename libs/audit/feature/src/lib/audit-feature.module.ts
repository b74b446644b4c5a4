import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { CommandRunner, INLINE_PROJECTION, InfrastructureModule, pingController } from '@keyledger/nest';
import { projectAuditEvents } from '@keyledger/audit-data-access';
import { AttestationsService } from './attestations.service';
import { AuditChainer } from './audit-chainer';
import { AuditController } from './audit.controller';
import { AUDIT_SIGNING_KEY, readAuditSigningKey } from './audit-signing-key';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.auditAttestation, outboxRelay: true })],
  controllers: [AuditController, pingController(Services.auditAttestation)],
  providers: [
    { provide: AUDIT_SIGNING_KEY, useFactory: () => readAuditSigningKey() },
    { provide: INLINE_PROJECTION, useValue: projectAuditEvents },
    CommandRunner,
    AttestationsService,
    AuditChainer,
  ],
})
export class AuditFeatureModule {}

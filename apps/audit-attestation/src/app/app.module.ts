import { Module } from '@nestjs/common';
import { AuditFeatureModule } from '@keyledger/audit-feature';

@Module({ imports: [AuditFeatureModule] })
export class AuditAttestationModule {}

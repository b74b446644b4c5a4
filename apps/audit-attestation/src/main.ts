import 'reflect-metadata';
import { Services } from '@keyledger/contracts';
import { auditMigrations } from '@keyledger/audit-data-access';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';
import { AuditAttestationModule } from './app/app.module';

bootstrapMicroservice({ service: Services.auditAttestation, module: AuditAttestationModule, migrations: [auditMigrations] }).catch(
  exitOnStartupError(Services.auditAttestation),
);

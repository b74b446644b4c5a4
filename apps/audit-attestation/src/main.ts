import 'reflect-metadata';
import { Services } from '@keyledger/contracts';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';
import { AuditAttestationModule } from './app/app.module';

bootstrapMicroservice({ service: Services.auditAttestation, module: AuditAttestationModule, migrations: [] }).catch(
  exitOnStartupError(Services.auditAttestation),
);

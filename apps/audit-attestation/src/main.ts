import 'reflect-metadata';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Services } from '@keyledger/contracts';
import { auditMigrations } from '@keyledger/audit-data-access';
import { chainerOptionsFromConfig, isAuditChainerThread, serveChainerThread } from '@keyledger/audit-feature';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';
import { AuditAttestationModule } from './app/app.module';

if (isMainThread) {
  bootstrapMicroservice({ service: Services.auditAttestation, module: AuditAttestationModule, migrations: [auditMigrations] }).catch(
    exitOnStartupError(Services.auditAttestation),
  );
} else if (isAuditChainerThread(workerData) && parentPort) {
  // The audit chainer's own thread, started by AuditChainer from this same file.
  serveChainerThread(chainerOptionsFromConfig(), parentPort, 'audit-attestation-chainer');
}

import { parentPort, workerData } from 'node:worker_threads';
import { parseSigningKey } from '@keyledger/audit-domain';
import { serveChainerThread } from '@keyledger/audit-feature';

/**
 * The audit chainer exactly as audit-attestation runs it: `serveChainerThread` (the same
 * LogProcessor options, chainEvents and checkpoint signing) on a thread of its own, with the
 * service's defaults except the checkpoint interval, which the bench states.
 */
const { databaseUrl, signingSeed } = workerData as { databaseUrl: string; signingSeed: string };
if (parentPort) {
  serveChainerThread(
    { databaseUrl, key: parseSigningKey(signingSeed), policy: { everyEvents: 1000, everyMs: 60_000 }, pollMs: 50 },
    parentPort,
    'bench-audit-chainer',
  );
}

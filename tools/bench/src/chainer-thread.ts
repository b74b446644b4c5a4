import { parentPort, workerData } from 'node:worker_threads';
import { chainerOptionsFromConfig, serveChainerThread } from '@keyledger/audit-feature';
import { cpuSeconds } from './cpu';

/** What the bench asks the chainer thread besides the service's own messages: this thread's CPU time. */
export type ToBenchChainer = { type: 'cpu'; id: number };
export type FromBenchChainer = { type: 'cpu'; id: number; seconds: number | null };

/**
 * The audit chainer exactly as audit-attestation runs it: `serveChainerThread` (the same
 * LogProcessor options, chainEvents and checkpoint signing) on a thread of its own, with the
 * service's defaults except the checkpoint interval, which the bench states. It also answers how
 * much CPU this thread has used (from /proc/thread-self), which the service does not need.
 */
const { databaseUrl, signingSeed, ticksPerSecond } = workerData as { databaseUrl: string; signingSeed: string; ticksPerSecond: number };
if (parentPort) {
  const port = parentPort;
  serveChainerThread(
    {
      ...chainerOptionsFromConfig({ DATABASE_URL: databaseUrl, KEYLEDGER_AUDIT_SIGNING_KEY: signingSeed, KEYLEDGER_AUDIT_CHAIN_POLL_MS: process.env['KEYLEDGER_AUDIT_CHAIN_POLL_MS'] }),
      policy: { everyEvents: 1000, everyMs: 60_000 },
    },
    port,
    'bench-audit-chainer',
  );
  port.on('message', (message: ToBenchChainer) => {
    if (message.type === 'cpu') port.postMessage({ type: 'cpu', id: message.id, seconds: cpuSeconds('thread-self', ticksPerSecond) } satisfies FromBenchChainer);
  });
}

import { parentPort, workerData } from 'node:worker_threads';
import { chainEvents, signHeadIfDue } from '@keyledger/audit-data-access';
import { parseSigningKey } from '@keyledger/audit-domain';
import { createDb, LogProcessor } from '@keyledger/event-store';

/**
 * The audit chainer as audit-attestation runs it (the same LogProcessor options and batch handler),
 * on a thread of its own: in a deployment it is another process, so its hashing must not share the
 * bench writers' event loop. Messages: `start`, `stop`, `exit`; each is answered once done.
 */
const { databaseUrl, signingSeed } = workerData as { databaseUrl: string; signingSeed: string };
const db = createDb(databaseUrl, { poolSize: 2, applicationName: 'bench-audit-chainer' });
const key = parseSigningKey(signingSeed);
let chainer: LogProcessor | null = null;

parentPort?.on('message', async (message: 'start' | 'stop' | 'exit') => {
  if (message === 'start' && !chainer) {
    chainer = new LogProcessor({
      name: 'audit-chain',
      db,
      batchSize: 1000,
      pollIntervalMs: 50,
      gatherBatches: true,
      handle: async (events, trx) => {
        await chainEvents(trx, events);
        await signHeadIfDue(trx, key, { everyEvents: 1000, everyMs: Number.POSITIVE_INFINITY }, new Date());
      },
    });
    chainer.start();
  } else if (message === 'stop' || message === 'exit') {
    await chainer?.stop();
    chainer = null;
    if (message === 'exit') await db.destroy();
  }
  parentPort?.postMessage(message);
});

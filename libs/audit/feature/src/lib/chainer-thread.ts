import type { KeyObject } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import { readConfig } from '@keyledger/config';
import { CHAIN_SOURCE_COLUMNS, ChainSourceRow, CheckpointPolicy, chainEvents, signBatchCheckpoints, signHeadIfDue } from '@keyledger/audit-data-access';
import { ChainHasher } from '@keyledger/audit-domain';
import { createDb, LogProcessor, ProcessorLag } from '@keyledger/event-store';
import { readAuditSigningKey } from './audit-signing-key';

export const AUDIT_CHAIN_PROCESSOR = 'audit-chain';

/** Everything the chainer needs; the thread reads it from the environment as the service does. */
export interface ChainerOptions {
  databaseUrl: string;
  key: KeyObject;
  policy: CheckpointPolicy;
  /** How long the chainer waits before looking at the log again, after a batch short of a thousand events too. */
  pollMs: number;
}

/** What the service's main thread and the chainer thread say to each other. */
export type ToChainer = { type: 'lag'; id: number } | { type: 'stop' };
export type FromChainer =
  | { type: 'lag'; id: number; lag: ProcessorLag | null }
  | { type: 'log'; level: 'info' | 'warn'; message: string; fields: Record<string, unknown> }
  | { type: 'stopped' };

export function chainerOptionsFromConfig(env: Record<string, string | undefined> = process.env): ChainerOptions {
  const config = readConfig(
    ['DATABASE_URL', 'KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS', 'KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS', 'KEYLEDGER_AUDIT_CHAIN_POLL_MS'],
    env,
  );
  return {
    databaseUrl: config.DATABASE_URL,
    key: readAuditSigningKey(env),
    policy: { everyEvents: config.KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS, everyMs: config.KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS * 1000 },
    pollMs: config.KEYLEDGER_AUDIT_CHAIN_POLL_MS,
  };
}

/**
 * Builds the hash chain: one LogProcessor (leased, so one instance chains at a time) follows the
 * log in gap-safe order and chains each batch in the transaction that moves its checkpoint. The
 * chain is global — one sequence over every organization's events — so one processor and one
 * checkpoint cover the whole log. The chain is signed at every N-th event as batches are chained,
 * and its head every T seconds by a timer when the head moved since the last checkpoint.
 */
export function startChainProcessor(db: Kysely<any>, options: ChainerOptions, log: (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void) {
  const hasher = new ChainHasher();
  const processor = new LogProcessor<ChainSourceRow>({
    name: AUDIT_CHAIN_PROCESSOR,
    db,
    columns: CHAIN_SOURCE_COLUMNS,
    pollIntervalMs: options.pollMs,
    batchSize: 1000,
    // Chaining may lag by a poll interval; in exchange it runs as few, large transactions beside the
    // writers. Each batch costs a few statements whatever its size: at ~4 000 single-event appends/s,
    // polls every 200 ms instead of 50 took the chainer from 25.6–33.4 to 18.8–19.3 µs of CPU per event (audit bench).
    gatherBatches: true,
    handle: async (events, trx) => {
      const chained = await chainEvents(trx, events, hasher);
      // Within a batch only the event count makes checkpoints due; the timer handles time.
      if (chained) await signBatchCheckpoints(trx, options.key, options.policy.everyEvents, new Date(), chained);
    },
    onError: (error) => log('warn', 'audit chainer failed; retrying', { err: errorFields(error), processor: AUDIT_CHAIN_PROCESSOR }),
  });
  const signOnTime = async () => {
    if (!processor.state.leader) return;
    try {
      const signed = await db.transaction().execute((trx) => signHeadIfDue(trx, options.key, options.policy, new Date()));
      if (signed) log('info', 'audit checkpoint signed', { position: signed.position });
    } catch (error) {
      log('warn', 'audit checkpoint failed; retrying', { err: errorFields(error) });
    }
  };
  processor.start();
  const timer = setInterval(() => void signOnTime(), Math.min(options.policy.everyMs, 5_000));
  return {
    processor,
    async stop() {
      clearInterval(timer);
      await processor.stop();
    },
  };
}

/**
 * The chainer thread's body. Hashing a batch of a thousand events takes the CPU for milliseconds on
 * end; on a thread of its own that never holds up the service's request handling (attestations of
 * spends, verify, export) on the main event loop.
 */
export function serveChainerThread(options: ChainerOptions, port: MessagePort, applicationName: string): void {
  const post = (message: FromChainer) => port.postMessage(message);
  const log = (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => post({ type: 'log', level, message, fields });
  const db = createDb(options.databaseUrl, { poolSize: 2, applicationName });
  const chain = startChainProcessor(db, options, log);
  port.on('message', (message: ToChainer) => {
    if (message.type === 'lag') {
      chain.processor.lag().then(
        (lag) => post({ type: 'lag', id: message.id, lag }),
        () => post({ type: 'lag', id: message.id, lag: null }),
      );
    } else if (message.type === 'stop') {
      void chain
        .stop()
        .then(() => db.destroy())
        .finally(() => post({ type: 'stopped' }));
    }
  });
}

function errorFields(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { type: error.name, message: error.message, stack: error.stack } : { message: String(error) };
}

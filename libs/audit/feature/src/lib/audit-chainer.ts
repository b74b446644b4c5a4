import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ProcessorLag, watchProcessorLag } from '@keyledger/event-store';
import { LOGGER } from '@keyledger/nest';
import { AUDIT_CHAIN_PROCESSOR, FromChainer, ToChainer } from './chainer-thread';

/** workerData that makes the service's entry file run the chainer thread instead of the service. */
export const AUDIT_CHAINER_THREAD = { role: 'audit-chainer' } as const;

export function isAuditChainerThread(workerData: unknown): boolean {
  return (workerData as { role?: unknown } | null)?.role === AUDIT_CHAINER_THREAD.role;
}

const RESTART_AFTER_MS = 1_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Runs the audit chainer (chainer-thread.ts) on a thread of its own, started from the service's entry
 * file with AUDIT_CHAINER_THREAD as workerData (main.ts hands such a thread to `serveChainerThread`).
 * Relays its logs, answers for its lag in the service's metrics, restarts it if it dies, and stops it
 * (lease released) on shutdown.
 */
@Injectable()
export class AuditChainer implements OnModuleInit, OnApplicationShutdown {
  private worker: Worker | null = null;
  private stopping = false;
  private unwatchLag: (() => void) | null = null;
  private nextLagId = 1;
  private readonly lagAnswers = new Map<number, (lag: ProcessorLag | null) => void>();

  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onModuleInit(): void {
    this.unwatchLag = watchProcessorLag({ name: AUDIT_CHAIN_PROCESSOR, lag: () => this.lag() });
    this.spawn();
  }

  private spawn(): void {
    const worker = new Worker(process.argv[1], { workerData: AUDIT_CHAINER_THREAD });
    this.worker = worker;
    worker.on('message', (message: FromChainer) => {
      if (message.type === 'log') this.logger[message.level](message.fields, message.message);
      else if (message.type === 'lag') {
        this.lagAnswers.get(message.id)?.(message.lag);
        this.lagAnswers.delete(message.id);
      }
    });
    worker.on('error', (error) => this.logger.error({ err: error }, 'audit chainer thread failed'));
    worker.on('exit', (code) => {
      for (const answer of this.lagAnswers.values()) answer(null);
      this.lagAnswers.clear();
      if (this.worker === worker) this.worker = null;
      if (this.stopping) return;
      this.logger.warn({ code }, `audit chainer thread exited; restarting in ${RESTART_AFTER_MS} ms`);
      setTimeout(() => {
        if (!this.stopping) this.spawn();
      }, RESTART_AFTER_MS).unref();
    });
  }

  /** The chain's lag as the chainer thread sees it (null while it does not hold the lease). */
  private lag(): Promise<ProcessorLag | null> {
    const worker = this.worker;
    if (!worker) return Promise.resolve(null);
    const id = this.nextLagId++;
    return new Promise((resolve) => {
      this.lagAnswers.set(id, resolve);
      worker.postMessage({ type: 'lag', id } satisfies ToChainer);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.unwatchLag?.();
    const worker = this.worker;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => {
      worker.on('message', (message: FromChainer) => message.type === 'stopped' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.postMessage({ type: 'stop' } satisfies ToChainer);
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref())]);
    await worker.terminate();
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { walletLockKey, WalletRef } from '@keyledger/budget-domain';
import { budgetRepository } from '@keyledger/budget-data-access';
import { DomainError } from '@keyledger/domain';
import { CommandRunner, LOGGER, UnitOfWork } from '@keyledger/nest';

type Work<T> = (uow: UnitOfWork) => Promise<T>;
interface Job {
  work: Work<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const MAX_BATCH = 100;

/**
 * One writer per wallet in this instance, with group commit. Commands for a wallet queue here; the
 * queue runs them one transaction at a time, as many as are waiting in one transaction, after
 * taking the wallet's Postgres lock (which serializes the instances). Each command loads its state
 * after the ones before it in the batch have written, so it decides exactly as if it ran alone;
 * the lock wait and the commit's flush are paid once per batch instead of once per command.
 */
@Injectable()
export class WalletBatcher {
  private readonly queues = new Map<string, Job[]>();

  constructor(
    private readonly runner: CommandRunner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  submit<T>(wallet: WalletRef, work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = walletLockKey(wallet);
      const job: Job = { work, resolve: resolve as (v: unknown) => void, reject };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(job);
        return;
      }
      this.queues.set(key, [job]);
      void this.drain(key, wallet);
    });
  }

  private async drain(key: string, wallet: WalletRef): Promise<void> {
    const queue = this.queues.get(key) as Job[];
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      const started = performance.now();
      try {
        this.settle(batch, await this.runBatch(wallet, batch));
        this.logger.debug({ wallet: key, commands: batch.length, ms: Math.round(performance.now() - started) }, 'wallet batch committed');
      } catch (error) {
        // Something unexpected aborted the shared transaction: give each command its own, so one
        // bad command cannot fail the others.
        if (batch.length === 1) batch[0].reject(error);
        else for (const job of batch) await this.runBatch(wallet, [job]).then((o) => this.settle([job], o), job.reject);
      }
    }
    this.queues.delete(key);
  }

  private runBatch(wallet: WalletRef, batch: readonly Job[]): Promise<Outcome[]> {
    return this.runner.run(async (uow) => {
      await budgetRepository.lockWallet(uow.trx, wallet);
      const outcomes: Outcome[] = [];
      for (const job of batch) {
        try {
          outcomes.push({ ok: true, value: await job.work(uow) });
        } catch (error) {
          // Business refusals are thrown before a command writes anything, so the batch goes on.
          if (!(error instanceof DomainError)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      return outcomes;
    });
  }

  private settle(batch: readonly Job[], outcomes: readonly Outcome[]): void {
    batch.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.error);
    });
  }
}

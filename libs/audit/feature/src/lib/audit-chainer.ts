import type { KeyObject } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { readConfig } from '@keyledger/config';
import { CheckpointPolicy, chainEvents, signHeadIfDue } from '@keyledger/audit-data-access';
import { LogProcessor } from '@keyledger/event-store';
import { DB, LOGGER } from '@keyledger/nest';
import { AUDIT_SIGNING_KEY } from './audit-signing-key';

export const AUDIT_CHAIN_PROCESSOR = 'audit-chain';

/**
 * Builds the hash chain: one LogProcessor (leased, so one instance chains at a time) follows the
 * log in gap-safe order and chains each batch in the transaction that moves its checkpoint. The
 * chain is global — one sequence over every organization's events — so one processor and one
 * checkpoint cover the whole log. The head is signed every N events within a batch, and every T
 * seconds by a timer when the head moved and no batch reached N.
 */
@Injectable()
export class AuditChainer implements OnModuleInit, OnApplicationShutdown {
  private processor: LogProcessor | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly policy: CheckpointPolicy;
  private readonly pollMs: number;

  constructor(
    @Inject(DB) private readonly db: Kysely<any>,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(AUDIT_SIGNING_KEY) private readonly key: KeyObject,
  ) {
    const config = readConfig(['KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS', 'KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS', 'KEYLEDGER_PROCESSOR_POLL_MS']);
    this.policy = { everyEvents: config.KEYLEDGER_AUDIT_CHECKPOINT_EVERY_EVENTS, everyMs: config.KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS * 1000 };
    this.pollMs = config.KEYLEDGER_PROCESSOR_POLL_MS;
  }

  onModuleInit(): void {
    this.processor = new LogProcessor({
      name: AUDIT_CHAIN_PROCESSOR,
      db: this.db,
      pollIntervalMs: this.pollMs,
      batchSize: 1000,
      // Chaining may lag by a poll interval; in exchange it runs as few, large transactions beside the writers.
      gatherBatches: true,
      handle: async (events, trx) => {
        await chainEvents(trx, events);
        // Within a batch only the event count can make a checkpoint due; the timer handles time.
        await signHeadIfDue(trx, this.key, { everyEvents: this.policy.everyEvents, everyMs: Number.POSITIVE_INFINITY }, new Date());
      },
      onError: (error) => this.logger.warn({ err: error, processor: AUDIT_CHAIN_PROCESSOR }, 'audit chainer failed; retrying'),
    });
    this.processor.start();
    this.timer = setInterval(() => void this.signOnTime(), Math.min(this.policy.everyMs, 5_000));
    this.timer.unref();
  }

  private async signOnTime(): Promise<void> {
    if (!this.processor?.state.leader) return;
    try {
      const signed = await this.db.transaction().execute((trx) => signHeadIfDue(trx, this.key, this.policy, new Date()));
      if (signed) this.logger.info({ position: signed.position }, 'audit checkpoint signed');
    } catch (error) {
      this.logger.warn({ err: error }, 'audit checkpoint failed; retrying');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.processor?.stop();
  }
}

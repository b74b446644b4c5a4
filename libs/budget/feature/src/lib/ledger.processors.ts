import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { readConfig } from '@keyledger/config';
import type { CommandMeta } from '@keyledger/contracts';
import { LogProcessor } from '@keyledger/event-store';
import { DB, LOGGER } from '@keyledger/nest';
import { LedgerService } from './ledger.service';

/** The clock the expiry sweep asks; a provider so tests can move time. */
export const LEDGER_CLOCK = Symbol('keyledger.ledger-clock');
export type Clock = () => Date;

const SWEEP_INTERVAL_MS = 1000;

/** Expires holds whose 7 days have passed, once a second, on every instance (each expiry is idempotent). */
@Injectable()
export class HoldExpirySweep implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ledger: LedgerService,
    @Inject(LEDGER_CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** One pass at the clock's current time. */
  sweep(): Promise<number> {
    return this.ledger.expireDueHolds(this.clock());
  }

  onModuleInit() {
    this.timer = setInterval(() => {
      this.running = this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'hold expiry sweep failed'));
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}

/**
 * Follows the log for `AgentRevoked` (written by the key-registry) and releases that agent's open
 * holds. Leased, so one instance runs it; releasing is idempotent, so a batch replayed after a crash
 * changes nothing twice.
 */
@Injectable()
export class AgentRevocationProcessor implements OnModuleInit, OnApplicationShutdown {
  readonly processor: LogProcessor;

  constructor(
    ledger: LedgerService,
    @Inject(DB) db: Kysely<any>,
    @Inject(LEDGER_CLOCK) clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const { KEYLEDGER_PROCESSOR_POLL_MS } = readConfig(['KEYLEDGER_PROCESSOR_POLL_MS']);
    this.processor = new LogProcessor({
      name: 'budget-ledger:agent-revocations',
      db,
      pollIntervalMs: KEYLEDGER_PROCESSOR_POLL_MS,
      // Every other event (spends above all) is passed over without a transaction.
      handles: (event) => event.type === 'AgentRevoked',
      handle: async (events) => {
        for (const event of events) {
          const agentId = (event.data as { agent_id: string }).agent_id;
          const meta: CommandMeta = {
            request_id: (event.metadata.request_id as string | null) ?? 'sys_agent_revoked',
            actor_key_id: event.metadata.actor_key_id ?? null,
            agent_id: agentId,
            ip: null,
            idempotency_key: null,
          };
          const released = await ledger.releaseHoldsOfAgent(agentId, { ...meta }, clock());
          if (released > 0) this.logger.info({ agent_id: agentId, released }, 'released the holds of a revoked agent');
        }
      },
      onError: (error) => this.logger.warn({ err: error, processor: 'agent-revocations' }, 'agent revocation processor failed; retrying'),
    });
  }

  onModuleInit() {
    this.processor.start();
  }

  async onApplicationShutdown() {
    await this.processor.stop();
  }
}

import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { Logger } from 'pino';
import { RATE_LIMIT_PARTITIONS, RateLimitCheckRequest, RateLimits, RateLimitSubjects } from '@keyledger/contracts';
import { DB, LOGGER, NATS_CONNECTION } from '@keyledger/nest';
import { checkRateLimit, Counters, isIdle } from '@keyledger/ratelimit-domain';
import { PartitionLeases } from './partition-leases';

interface Entry {
  counters: Counters;
  /** The limits last applied, to tell when the counters are back to a fresh start. */
  limits: RateLimits;
}

interface OwnedPartition {
  subscription: Subscription;
  counters: Map<string, Entry>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SWEEP_MS = 10_000;

/**
 * Answers rate-limit checks for the partitions this instance owns, from counters held in memory.
 * Each partition's subject has exactly one subscriber (its owner) and Node runs one callback at a
 * time, so every check of an org is decided in order against one set of counters: exact, however
 * many gateways send. Counters are live state, not events: when a partition changes owner they
 * start again full.
 */
@Injectable()
export class RateLimiterService implements OnModuleInit, OnApplicationShutdown {
  private readonly partitions = new Map<number, OwnedPartition>();
  private readonly leases: PartitionLeases;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DB) db: Kysely<any>,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.leases = new PartitionLeases({
      db,
      partitions: RATE_LIMIT_PARTITIONS,
      pollMs: 250,
      settleMs: 1000,
      onAcquire: (p) => this.own(p),
      onRelease: (p) => this.disown(p),
      onError: (error) => this.logger.warn({ err: error }, 'rate-limit partition leases lost; retrying'),
    });
  }

  async onModuleInit() {
    await this.leases.start();
    this.logger.info({ partitions: [...this.leases.owned].length }, 'rate-limit partitions owned');
    this.sweeper = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.sweeper.unref();
  }

  async onApplicationShutdown() {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.leases.stop();
  }

  /** Decides one check against the counters of its key, and keeps what it consumed. */
  private decide(partition: Map<string, Entry>, request: RateLimitCheckRequest, now: number) {
    const entry = partition.get(request.counter);
    const decision = checkRateLimit(entry?.counters, request, now);
    partition.set(request.counter, { counters: decision.counters, limits: request.limits });
    return decision.reply;
  }

  private own(partition: number): void {
    const counters = new Map<string, Entry>();
    const subscription = this.nats.subscribe(RateLimitSubjects.check(partition), {
      callback: (error, msg) => {
        if (error) return;
        this.answer(counters, msg);
      },
    });
    this.partitions.set(partition, { subscription, counters });
    this.logger.debug({ partition }, 'rate-limit partition acquired');
  }

  private disown(partition: number): void {
    const owned = this.partitions.get(partition);
    if (!owned) return;
    owned.subscription.unsubscribe();
    this.partitions.delete(partition);
    this.logger.info({ partition }, 'rate-limit partition released');
  }

  private answer(counters: Map<string, Entry>, msg: Msg): void {
    try {
      const request = JSON.parse(decoder.decode(msg.data)) as RateLimitCheckRequest;
      msg.respond(encoder.encode(JSON.stringify(this.decide(counters, request, Date.now()))));
    } catch (error) {
      // A check this version cannot read is answered, not thrown: the gateway applies its fail mode.
      this.logger.warn({ err: error, subject: msg.subject }, 'undecidable rate-limit check');
      msg.respond(encoder.encode(JSON.stringify({ error: 'undecidable check' })));
    }
  }

  /** Forgets counters that are back to a fresh start, so memory follows the active keys only. */
  private sweep(now: number): void {
    for (const { counters } of this.partitions.values()) {
      for (const [key, entry] of counters) if (isIdle(entry.counters, entry.limits, now)) counters.delete(key);
    }
  }
}

import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { readConfig } from '@keyledger/config';
import { RateLimitCheckReply, RateLimitCheckRequest, rateLimitPartition, RateLimitSubjects } from '@keyledger/contracts';
import { LOGGER, NATS_CONNECTION } from '@keyledger/nest';
import type { BreakerState } from './service-clients';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A dead instance's partitions are taken over within a lease poll (250 ms): ask again a little later. */
const TAKEOVER_RETRIES_MS = [300, 300];
const noResponders = (error: unknown) => (error as { code?: string })?.code === '503';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends each check to the one rate-limiter instance that owns its counter key's partition
 * (`ratelimit.check.<partition>`), with the RPC timeout, through a circuit breaker of its own. A
 * partition with no owner answers "no responders" at once, so a dead instance costs no timeout; the
 * check is asked again twice, 300 ms apart, to ride out a takeover by the surviving instances.
 */
@Injectable()
export class RateLimiterClient implements OnApplicationShutdown {
  readonly breaker: CircuitBreaker<[string, Uint8Array, boolean], RateLimitCheckReply>;
  readonly resetMs: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) logger: Logger,
  ) {
    const config = readConfig(['KEYLEDGER_RPC_TIMEOUT_MS', 'KEYLEDGER_BREAKER_RESET_MS']);
    this.resetMs = config.KEYLEDGER_BREAKER_RESET_MS;
    this.breaker = new CircuitBreaker(
      async (subject: string, payload: Uint8Array, rideOutTakeover: boolean) => {
        for (let attempt = 0; ; attempt++) {
          try {
            const reply = await this.nats.request(subject, payload, { timeout: config.KEYLEDGER_RPC_TIMEOUT_MS });
            return JSON.parse(decoder.decode(reply.data)) as RateLimitCheckReply;
          } catch (error) {
            // Nobody owns the partition right now (its owner just died): the survivors take it over shortly.
            if (!rideOutTakeover || !noResponders(error) || attempt >= TAKEOVER_RETRIES_MS.length) throw error;
            await sleep(TAKEOVER_RETRIES_MS[attempt]);
          }
        }
      },
      {
        name: 'rate-limit-checks',
        timeout: false, // the request's own timeout applies
        resetTimeout: config.KEYLEDGER_BREAKER_RESET_MS,
        errorThresholdPercentage: 50,
        rollingCountTimeout: 10_000,
        volumeThreshold: 3,
      },
    );
    this.breaker.on('open', () => logger.warn('rate-limit check breaker opened: applying KEYLEDGER_RATE_LIMIT_FAIL_MODE'));
    this.breaker.on('close', () => logger.info('rate-limit check breaker closed'));
  }

  get state(): BreakerState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half_open' : 'closed';
  }

  /** The limiter's decision, or null when it cannot be had (down, slow, or the breaker is open). */
  async check(request: RateLimitCheckRequest): Promise<RateLimitCheckReply | null> {
    const partition = rateLimitPartition(request.counter);
    // A partition nobody took over after the retries fails at once until its next probe is due; then
    // this request probes, and the others keep failing at once while it does.
    const probeDue = this.ownerless.get(partition);
    if (probeDue !== undefined) {
      if (probeDue > Date.now()) return null;
      this.ownerless.set(partition, Date.now() + this.resetMs);
    }
    try {
      // A probe of a partition already known to be without owner asks once.
      const reply = await this.breaker.fire(RateLimitSubjects.check(partition), encoder.encode(JSON.stringify(request)), probeDue === undefined);
      this.ownerless.delete(partition);
      return typeof reply?.allowed === 'boolean' ? reply : null;
    } catch (error) {
      if (noResponders(error)) this.ownerless.set(partition, Date.now() + this.resetMs);
      return null;
    }
  }

  /** Partitions with no owner, and when to probe each again (a breaker per partition, in effect). */
  private readonly ownerless = new Map<number, number>();

  onApplicationShutdown() {
    this.breaker.shutdown();
  }
}

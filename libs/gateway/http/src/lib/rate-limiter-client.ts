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

/**
 * Sends each check to the one rate-limiter instance that owns its counter key's partition
 * (`ratelimit.check.<partition>`), with the RPC timeout, through a circuit breaker of its own. A
 * partition with no owner answers "no responders" at once, so a dead instance costs no timeout.
 */
@Injectable()
export class RateLimiterClient implements OnApplicationShutdown {
  readonly breaker: CircuitBreaker<[string, Uint8Array], RateLimitCheckReply>;
  readonly resetMs: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(LOGGER) logger: Logger,
  ) {
    const config = readConfig(['KEYLEDGER_RPC_TIMEOUT_MS', 'KEYLEDGER_BREAKER_RESET_MS']);
    this.resetMs = config.KEYLEDGER_BREAKER_RESET_MS;
    this.breaker = new CircuitBreaker(
      async (subject: string, payload: Uint8Array) => {
        const reply = await this.nats.request(subject, payload, { timeout: config.KEYLEDGER_RPC_TIMEOUT_MS });
        return JSON.parse(decoder.decode(reply.data)) as RateLimitCheckReply;
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
    try {
      const reply = await this.breaker.fire(RateLimitSubjects.check(rateLimitPartition(request.counter)), encoder.encode(JSON.stringify(request)));
      return typeof reply?.allowed === 'boolean' ? reply : null;
    } catch {
      return null;
    }
  }

  onApplicationShutdown() {
    this.breaker.shutdown();
  }
}

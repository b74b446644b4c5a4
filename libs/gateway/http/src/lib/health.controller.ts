import { Controller, Get, Inject } from '@nestjs/common';
import { sql, type Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { DB, NATS_CONNECTION } from '@keyledger/nest';
import { ApiError } from './api-error';
import { Auth } from './principal';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimiterClient } from './rate-limiter-client';
import { ServiceClients } from './service-clients';

type Check = { ok: boolean; breaker?: string; [detail: string]: unknown };

@Controller()
export class HealthController {
  constructor(
    @Inject(DB) private readonly db: Kysely<unknown>,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    private readonly services: ServiceClients,
    private readonly rateLimits: RateLimitGuard,
    private readonly rateLimiter: RateLimiterClient,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  @Auth.none()
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: Postgres, NATS and every downstream service answer. */
  @Get('readyz')
  @Auth.none()
  async readyz() {
    const [postgres, ...services] = await Promise.all([
      sql`select 1`
        .execute(this.db)
        .then(() => true)
        .catch(() => false),
      ...this.services.all.map(async (client) => ({ client, ok: await client.ping() })),
    ]);
    const checks: Record<string, Check> = {
      postgres: { ok: postgres as boolean },
      nats: { ok: !this.nats.isClosed() },
    };
    for (const { client, ok } of services as { client: ServiceClients['keyRegistry']; ok: boolean }[]) {
      checks[client.service] = { ok, breaker: client.state };
    }
    // Says what happens to each class of request while the rate limiter cannot be reached.
    checks['rate-limiter'] = { ...checks['rate-limiter'], check_breaker: this.rateLimiter.state, fail_mode: this.rateLimits.failMode };
    const ready = Object.values(checks).every((c) => c.ok);
    if (!ready) throw new ApiError('SERVICE_UNAVAILABLE', 'not ready', { checks }, { 'retry-after': '1' });
    return { status: 'ready', checks };
  }
}

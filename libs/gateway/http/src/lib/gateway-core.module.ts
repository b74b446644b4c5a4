import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { InfrastructureModule } from '@keyledger/nest';
import { AuthGuard } from './auth.guard';
import { EnvelopeInterceptor } from './envelope.interceptor';
import { ErrorEnvelopeFilter } from './error.filter';
import { HealthController } from './health.controller';
import { IdempotencyInterceptor, IdempotencyRecordWriterProvider, StoredAnswers } from './idempotency.interceptor';
import { KeyCache } from './key-cache';
import { KeyUsageReporter } from './key-usage-reporter';
import { GatewayMetrics, MetricsController } from './metrics';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimiterClient } from './rate-limiter-client';
import { ServiceClients } from './service-clients';

/** What every gateway route relies on: auth, the envelope, the error filter, service clients. */
@Module({
  imports: [InfrastructureModule.forRoot({ service: 'gateway' })],
  controllers: [HealthController, MetricsController],
  providers: [
    ServiceClients,
    KeyCache,
    KeyUsageReporter,
    StoredAnswers,
    IdempotencyRecordWriterProvider,
    GatewayMetrics,
    RateLimiterClient,
    RateLimitGuard,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard }, // after AuthGuard: it needs the org
    { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
    { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
    { provide: APP_FILTER, useClass: ErrorEnvelopeFilter },
  ],
  exports: [ServiceClients, KeyCache],
})
export class GatewayCoreModule {}

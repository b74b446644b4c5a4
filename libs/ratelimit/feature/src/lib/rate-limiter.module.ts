import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { InfrastructureModule, pingController } from '@keyledger/nest';
import { RateLimiterService } from './rate-limiter.service';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.rateLimiter, outboxRelay: false })],
  controllers: [pingController(Services.rateLimiter)],
  providers: [RateLimiterService],
})
export class RateLimiterFeatureModule {}

import { Module } from '@nestjs/common';
import { Services } from '@keyledger/contracts';
import { InfrastructureModule, pingController } from '@keyledger/nest';

@Module({
  imports: [InfrastructureModule.forRoot({ service: Services.rateLimiter, outboxRelay: false })],
  controllers: [pingController(Services.rateLimiter)],
})
export class RateLimiterModule {}

import { Module } from '@nestjs/common';
import { RateLimiterFeatureModule } from '@keyledger/ratelimit-feature';

@Module({
  imports: [RateLimiterFeatureModule],
})
export class RateLimiterModule {}

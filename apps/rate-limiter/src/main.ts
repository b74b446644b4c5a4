import 'reflect-metadata';
import { Services } from '@keyledger/contracts';
import { bootstrapMicroservice, exitOnStartupError } from '@keyledger/nest';
import { RateLimiterModule } from './app/app.module';

bootstrapMicroservice({ service: Services.rateLimiter, module: RateLimiterModule, migrations: [] }).catch(
  exitOnStartupError(Services.rateLimiter),
);

export * from './lib/partition-leases';
export * from './lib/rate-limiter.service';
export * from './lib/rate-limiter.module';

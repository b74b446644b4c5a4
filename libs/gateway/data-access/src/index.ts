export * from './lib/idempotency.repository';

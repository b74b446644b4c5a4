export * from './lib/services';
export * from './lib/messages';
export * from './lib/errors';
export * from './lib/resources';
export * from './lib/rate-limits';
export * from './lib/rate-limit-checks';
export * from './lib/budget';
export * from './lib/audit';

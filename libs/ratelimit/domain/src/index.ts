export * from './lib/token-bucket';
export * from './lib/hourly-quota';
export * from './lib/rate-limit';
export * from './lib/counter-lease';

export * from './lib/base62';
export * from './lib/api-key-format';
export * from './lib/ids';
export * from './lib/decider';
export * from './lib/domain-error';
export * from './lib/org.decider';
export * from './lib/api-key.decider';

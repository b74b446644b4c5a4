export * from './lib/database';
export * from './lib/errors';
export * from './lib/event-store';
export * from './lib/log-reader';
export * from './lib/log-processor';
export * from './lib/migrate';
export * from './lib/connect';
export * from './lib/outbox-relay';

export * from './lib/tokens';
export * from './lib/logger';
export * from './lib/infrastructure.module';
export * from './lib/rpc-errors';
export * from './lib/bootstrap';
export * from './lib/ping.controller';
export * from './lib/command-runner';
export * from './lib/metrics-server';

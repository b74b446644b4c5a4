export * from './lib/test-database';
export * from './lib/processes';
export * from './lib/stack';
export * from './lib/postgres-server';
export * from './lib/projection-chunks';
export * from './lib/log-horizon';

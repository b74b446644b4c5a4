export * from './lib/client';
export * from './lib/errors';
export * from './lib/types';
export type { ApiOperations } from './lib/api.generated';

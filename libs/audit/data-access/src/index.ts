export * from './lib/database';
export * from './lib/migrations';
export * from './lib/chain.store';
export * from './lib/stored-chain';
export * from './lib/export-file';
export * from './lib/replay';
export * from './lib/attestations.projection';
